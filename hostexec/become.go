package hostexec

// becomeVar is the environment variable that carries the password from the
// wrapper shell to sudo's askpass program (see transport.Become).
const becomeVar = "RUNBOOK_BECOME_PASS"

// BecomeScript is the sudo command line for running script as user. When
// sudo is not needed (already that user) the shell skips it. withPassword
// means the first stdin line is the password (see Become); it is consumed
// by the shell in both branches, so the command's own stdin follows intact.
//
// The command runs in a process group of its own (setsid when available),
// and a signal to the wrapper is passed on to that whole group, so Ctrl-C
// stops the command's children too, not only sudo.
func BecomeScript(user string, withPassword bool, script string) string {
	inner := Quote(script)
	sudo := "sudo -n"
	read := ""
	if withPassword {
		read = "IFS= read -r " + becomeVar + "; export " + becomeVar + "; SUDO_ASKPASS=$(command -v printenv); export SUDO_ASKPASS; "
		sudo = "sudo -A -p " + becomeVar
	}
	return read + `if [ "$(id -un)" = ` + Quote(user) + ` ]; then unset ` + becomeVar + `; exec /bin/sh -c ` + inner + `; fi; exec ` +
		sudo + ` -H -u ` + Quote(user) + ` -- /bin/sh -c ` + Quote(groupWrapper) + ` runbook ` + inner
}

// groupWrapper runs "$1" in a session and process group of its own and
// passes TERM/HUP/INT on to the whole group. Under sudo the command runs as
// another user, so neither sshd nor the login user may signal its children;
// sudo relays a signal to its direct child only, and this shell turns it
// into one for the whole tree. stdin is handed over explicitly because a
// background job's stdin is /dev/null.
const groupWrapper = `exec 3<&0; s=$(command -v setsid); $s /bin/sh -c "$1" 0<&3 3<&- & p=$!; exec 0<&- 3<&-; ` +
	`trap 'kill -TERM -$p 2>/dev/null || kill -TERM $p 2>/dev/null' TERM HUP INT; ` +
	`while :; do wait $p; rc=$?; kill -0 $p 2>/dev/null || exit $rc; done`
