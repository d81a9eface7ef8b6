package virt

// SetHostKey gives a test the host key Run reads from host_key_file.
func SetHostKey(c *CloudInit, private, public string) { c.hostKey, c.hostKeyPublic = private, public }
