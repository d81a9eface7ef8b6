package hostexec

import (
	"os/exec"
	"strings"
	"testing"
)

// Quote's output, run through a real shell, gives back the value.
func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "it's", `"$(x)"`, "`x`", "a\nb", "-rf", "100%", "ü"} {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("Quote(%q) = %s -> %q %v", s, Quote(s), out, err)
		}
	}
	if got := Join("echo", "a b", ""); got != "echo 'a b' ''" {
		t.Errorf("Join: %s", got)
	}
	if !strings.HasPrefix(QuoteAlways("x"), "'") {
		t.Error("QuoteAlways left a plain word unquoted")
	}
}

// The become wrapper reads the password line only when one is given and
// runs the command directly when already that user.
func TestBecomeScriptAsSameUser(t *testing.T) {
	me, _ := exec.Command("id", "-un").Output()
	user := strings.TrimSpace(string(me))
	cmd := exec.Command("/bin/sh", "-c", BecomeScript(user, true, "cat"))
	cmd.Stdin = strings.NewReader("pw-line\ndata")
	out, err := cmd.Output()
	if err != nil || string(out) != "data" {
		t.Errorf("same user with a password: %q %v (the password line must be consumed, the rest reach the command)", out, err)
	}
	cmd = exec.Command("/bin/sh", "-c", BecomeScript(user, false, "cat"))
	cmd.Stdin = strings.NewReader("data")
	if out, err := cmd.Output(); err != nil || string(out) != "data" {
		t.Errorf("same user: %q %v", out, err)
	}
}
