// Package design holds the tests of the house's layout: which package may
// import which, and which calls only the binary makes. It has no code.
package design
