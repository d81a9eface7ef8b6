// Command floor is the least any runner can do over SSH, for the benchmark:
// one connection per host (all at once), then per task one session per host
// in parallel, waiting for every host before the next task.
//
//	floor -user U -key KEY -hostkey KEY.pub -port P -tasks M ADDR...
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"

	"golang.org/x/crypto/ssh"
)

func main() {
	user := flag.String("user", "", "login user")
	keyFile := flag.String("key", "", "client private key")
	hostKeyFile := flag.String("hostkey", "", "the hosts' public key (authorized_keys format)")
	port := flag.Int("port", 22, "port")
	tasks := flag.Int("tasks", 1, "commands per host")
	flag.Parse()
	key, err := os.ReadFile(*keyFile)
	check(err)
	signer, err := ssh.ParsePrivateKey(key)
	check(err)
	hk, err := os.ReadFile(*hostKeyFile)
	check(err)
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey(hk)
	check(err)
	cfg := &ssh.ClientConfig{User: *user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey), HostKeyAlgorithms: []string{hostKey.Type()}}
	addrs := flag.Args()
	clients := make([]*ssh.Client, len(addrs))
	var wg sync.WaitGroup
	var failed sync.Map
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ssh.Dial("tcp", fmt.Sprintf("%s:%d", a, *port), cfg)
			if err != nil {
				failed.Store(a, err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	for t := 0; t < *tasks; t++ {
		for i, c := range clients {
			if c == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := c.NewSession()
				if err != nil {
					failed.Store(addrs[i], err)
					return
				}
				defer s.Close()
				if err := s.Run("/bin/true"); err != nil {
					failed.Store(addrs[i], err)
				}
			}()
		}
		wg.Wait()
	}
	n := 0
	failed.Range(func(k, v any) bool {
		n++
		if n <= 3 {
			fmt.Fprintf(os.Stderr, "%v: %v\n", k, v)
		}
		return true
	})
	if n > 0 {
		fmt.Fprintf(os.Stderr, "%d hosts failed\n", n)
		os.Exit(1)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
