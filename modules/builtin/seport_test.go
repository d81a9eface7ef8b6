package builtin_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seport against a stand-in semanage (SELinux cannot run here): a port
// already of the type is left alone, a new one added, one of another type
// modified, an absent one deleted; each command as semanage takes it.
func TestSEPortCommands(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	os.WriteFile(filepath.Join(bin, "getenforce"), []byte("#!/bin/sh\necho Enforcing\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "semanage"), []byte(`#!/bin/sh
echo "$*" >> `+log+`
[ "$2" = -l ] && printf '%s\n' 'SELinux Port Type              Proto    Port Number' \
  'http_port_t                    tcp      80, 81, 443, 9100-9102' 'ssh_port_t                     tcp      22, 2222'
exit 0
`), 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"ports": "443", "proto": "tcp", "setype": "http_port_t"}, ""},
		{map[string]any{"ports": []any{"9100-9102", "8080"}, "proto": "tcp", "setype": "http_port_t"}, "port -a -t http_port_t -p tcp 8080"},
		{map[string]any{"ports": "2222", "proto": "tcp", "setype": "http_port_t", "reload": false}, "port -N -m -t http_port_t -p tcp 2222"},
		{map[string]any{"ports": "81,82", "proto": "tcp", "setype": "http_port_t", "state": "absent"}, "port -d -p tcp 81"},
	}
	for i, c := range cases {
		os.Remove(log)
		r := run(t, "seport", c.args)
		b, _ := os.ReadFile(log)
		calls := strings.Split(strings.TrimSpace(string(b)), "\n")
		changes := strings.Join(calls[1:], ";")
		if r.Changed != (c.want != "") || changes != c.want {
			t.Errorf("case %d %v: changed %v, calls %q; want %q", i, c.args, r.Changed, changes, c.want)
		}
	}
}
