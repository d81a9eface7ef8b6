package transport

// LoseConnection closes a connection as the keepalive does on a host that
// stopped answering for a while.
func LoseConnection(s *SSH) { s.current().Close() }
