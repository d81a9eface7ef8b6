// Package testrig holds what the tests stand on, apart from the code they
// test: testenv (skip or fail when a tool is missing), sshtest (real sshd
// daemons on loopback), pgtest (real PostgreSQL and pgpool-II servers) and
// testlab (the container lab: four hosts in a network namespace). Nothing
// outside tests, the benchmark and the testlab command imports them.
package testrig
