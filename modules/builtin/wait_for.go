package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// WaitFor waits, on the host, until a TCP port accepts (or refuses)
// connections, a path exists (or not), or a command succeeds. The loop runs
// on the host in one command, so waiting costs no round trips.
type WaitFor struct {
	Host           string  `yaml:"host" doc:"address to probe, as seen from the host" default:"127.0.0.1"`
	Port           int     `yaml:"port" doc:"TCP port"`
	Path           string  `yaml:"path" doc:"a path to wait for"`
	Cmd            string  `yaml:"cmd" doc:"a shell command to wait for (exit 0)"`
	State          string  `yaml:"state" doc:"started/present (default) or stopped/absent" default:"started"`
	Timeout        float64 `yaml:"timeout" doc:"seconds before failing" default:"300"`
	Delay          float64 `yaml:"delay" doc:"seconds to wait before the first probe"`
	SearchRegex    string  `yaml:"search_regex" doc:"with path: wait until the file holds a line matching this (extended) regular expression"`
	Msg            string  `yaml:"msg" doc:"the failure message instead of the default"`
	ConnectTimeout int     `yaml:"connect_timeout" doc:"accepted for Ansible playbooks (each probe is short)"`
	Sleep          float64 `yaml:"sleep" doc:"seconds between probes" default:"1"`
}

func init() {
	modules.Register(modules.Info{ID: "wait_for", Summary: "Wait until a port, a path or a command reaches a state, with a timeout.",
		Example: "wait_for:\n  port: 5432\n  timeout: 60", New: func() modules.Module {
			return &WaitFor{Host: "127.0.0.1", State: "started", Timeout: 300, Sleep: 1}
		}})
}

// Validate needs exactly one probe.
func (w *WaitFor) Validate() error {
	if w.Timeout < 0 || w.Timeout > modules.MaxWaitSeconds {
		return fmt.Errorf("wait_for: timeout: expected 0 to %d seconds (a year), got %g", int(modules.MaxWaitSeconds), w.Timeout)
	}
	n := 0
	for _, set := range []bool{w.Port != 0, w.Path != "", w.Cmd != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("wait_for: give exactly one of port, path and cmd")
	}
	switch w.State {
	case "started", "present", "stopped", "absent":
	default:
		return fmt.Errorf("wait_for: state must be started, present, stopped or absent, got %q", w.State)
	}
	return nil
}

// Script is the probe loop run on the host (pure, for tests).
func (w *WaitFor) Script() string {
	var probe string
	switch {
	case w.Port != 0:
		// host and port are arguments of the inner shell, never its code
		probe = `bash -c '(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null' wait_for ` + modules.Join(w.Host, strconv.Itoa(w.Port))
	case w.Path != "" && w.SearchRegex != "":
		// a regular file only: grep on a FIFO would wait for a writer past the timeout
		probe = "{ [ -f " + modules.Quote(w.Path) + " ] && grep -Eq -- " + modules.Quote(w.SearchRegex) + " " + modules.Quote(w.Path) + " 2>/dev/null; }"
	case w.Path != "":
		probe = "[ -e " + modules.Quote(w.Path) + " ]"
	default:
		probe = "(" + w.Cmd + ") >/dev/null 2>&1"
	}
	if w.State == "stopped" || w.State == "absent" {
		probe = "! " + probe
	}
	return fmt.Sprintf(`sleep %g
end=$(( $(date +%%s) + %d ))
while :; do
  if %s; then exit 0; fi
  [ "$(date +%%s)" -ge "$end" ] && exit 3
  sleep %g
done`, w.Delay, int(w.Timeout+0.999), probe, w.Sleep)
}

// Run waits.
func (w *WaitFor) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: w.Script()})
	if err != nil {
		return nil, err
	}
	if r.RC == 0 {
		return &modules.Result{Msg: "reached " + w.State}, nil
	}
	what := map[bool]string{true: fmt.Sprintf("port %s:%d", w.Host, w.Port), false: modules.Or(w.Path, w.Cmd)}[w.Port != 0]
	msg := fmt.Sprintf("timeout after %gs waiting for %s to be %s", w.Timeout, what, w.State)
	if w.Msg != "" {
		msg = w.Msg
	}
	if e := strings.TrimSpace(r.Stderr); e != "" && r.RC != 3 {
		msg += ": " + e
	}
	return modules.Failf("%s", msg), nil
}

// Facts gathers what playbooks commonly test: OS, version, hostname,
// addresses, CPUs and memory.
type Facts struct {
	GatherSubset  modules.StringList `yaml:"gather_subset" doc:"accepted for Ansible playbooks (setup); runbook gathers one small set"`
	Filter        modules.StringList `yaml:"filter" doc:"accepted for Ansible playbooks (setup); every fact is returned"`
	GatherTimeout int                `yaml:"gather_timeout" doc:"accepted for Ansible playbooks (setup)"`
}

func init() {
	modules.Register(modules.Info{ID: "facts", Summary: "Gather host facts (OS id, version and codename, hostname, IPv4 addresses, CPUs, memory, /dev/kvm, the apt mirror); run automatically when gather_facts is on.",
		Example: "facts: {}", New: func() modules.Module { return &Facts{} }})
}

const factsScript = `. /etc/os-release 2>/dev/null
echo "os_id=$ID"; echo "os_version=$VERSION_ID"; echo "os_codename=$VERSION_CODENAME"; echo "os_name=$PRETTY_NAME"
echo "hostname=$(hostname)"; echo "kernel=$(uname -r)"; echo "arch=$(uname -m)"; echo "user=$(id -un)"
echo "cpus=$(nproc 2>/dev/null || echo 1)"
echo "memory_mb=$(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo)"
echo "ipv4=$(ip -o -4 addr show scope global 2>/dev/null | awk '{split($4,a,"/"); printf "%s ", a[1]}')"
echo "systemd=$([ -d /run/systemd/system ] && echo true || echo false)"
echo "kvm_device=$([ -c /dev/kvm ] && echo true || echo false)"
# the configured package mirror (deb822 first): where debootstrap and guests' packages come from
m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/{for(i=2;i<=NF;i++) if ($i !~ /security/) {print $i; exit}}')
[ -n "$m" ] || m=$(awk '$1=="deb" && !/security/ {for(i=2;i<=NF;i++) if ($i ~ /^(https?|ftp|file):/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null | head -1)
echo "apt_mirror=$m"
echo "os_like=$ID_LIKE"
# Python's socket.getfqdn(), as Ansible: the name's address looked up
# back, the first name with a dot, else the canonical one
n=$(hostname); a=$(getent ahosts "$n" 2>/dev/null | awk '{print $1; exit}')
f=$( [ -n "$a" ] && getent hosts "$a" 2>/dev/null | awk '{for(i=2;i<=NF;i++) if (index($i,".")) {print $i; exit} print $2; exit}')
echo "fqdn=${f:-$n}"
echo "debian_version=$(cat /etc/debian_version 2>/dev/null)"
r=$(ip -4 route get 1.0.0.0 2>/dev/null | head -1)
echo "default_ipv4=$(echo "$r" | awk '{for(i=1;i<NF;i++){if($i=="dev")d=$(i+1);if($i=="via")g=$(i+1);if($i=="src")s=$(i+1)}} END{print s" "d" "g}')"
echo "pkg_mgr=$(for p in apt-get dnf yum zypper pacman apk; do command -v $p >/dev/null 2>&1 && { echo ${p%-get}; break; }; done)"
echo "service_mgr=$(cat /proc/1/comm 2>/dev/null)"
echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "epoch=$(date +%s)"
echo "passwd=$(getent passwd "$(id -un)" | cut -d: -f5-7)"
echo "sockets=$(grep '^physical id' /proc/cpuinfo | sort -u | wc -l)"
echo "cores=$(grep -m1 '^cpu cores' /proc/cpuinfo | cut -d: -f2)"
echo "machine_id=$(cat /etc/machine-id 2>/dev/null)"`

// Run gathers.
func (*Facts) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := modules.RunOK(ctx, env.Host, factsScript, "gathering facts")
	if err != nil {
		return nil, err
	}
	f := ParseFacts(r.Stdout)
	return &modules.Result{Facts: f, Data: map[string]any{"facts": f["facts"]}}, nil
}

// ParseFacts turns the facts script's key=value lines into variables.
func ParseFacts(out string) map[string]any {
	f := map[string]any{}
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		switch k {
		case "cpus", "memory_mb":
			var n int
			fmt.Sscanf(v, "%d", &n)
			f[k] = n
		case "ipv4":
			addrs := []any{}
			for _, a := range strings.Fields(v) {
				addrs = append(addrs, a)
			}
			f[k] = addrs
		case "systemd", "kvm_device":
			f[k] = v == "true"
		default:
			f[k] = v
		}
	}
	major := strings.Split(fmt.Sprint(f["os_version"]), ".")[0]
	var m int
	if _, err := fmt.Sscanf(major, "%d", &m); err == nil {
		f["os_major"] = m
	}
	vars := map[string]any{"facts": f}
	af := ansibleFacts(f)
	vars["ansible_facts"] = af
	for k, v := range af {
		vars["ansible_"+k] = v // Ansible's inject_facts_as_vars
	}
	return vars
}

// distributions maps os-release IDs to Ansible's distribution names and
// families (the common ones; others get their ID capitalised).
var distributions = map[string][2]string{
	"debian": {"Debian", "Debian"}, "ubuntu": {"Ubuntu", "Debian"}, "linuxmint": {"Linux Mint", "Debian"},
	"raspbian": {"Debian", "Debian"}, "kali": {"Kali", "Debian"}, "pop": {"Pop!_OS", "Debian"},
	"rhel": {"RedHat", "RedHat"}, "centos": {"CentOS", "RedHat"}, "rocky": {"Rocky", "RedHat"},
	"almalinux": {"AlmaLinux", "RedHat"}, "fedora": {"Fedora", "RedHat"}, "ol": {"OracleLinux", "RedHat"},
	"amzn": {"Amazon", "RedHat"}, "opensuse-leap": {"openSUSE Leap", "Suse"}, "sles": {"SLES", "Suse"},
	"arch": {"Archlinux", "Archlinux"}, "alpine": {"Alpine", "Alpine"},
}

// ansibleFacts names the gathered facts as Ansible's setup module does.
func ansibleFacts(f map[string]any) map[string]any {
	s := func(k string) string { v, _ := f[k].(string); return v }
	id := s("os_id")
	dist, family := id, id
	if d, ok := distributions[id]; ok {
		dist, family = d[0], d[1]
	} else if len(id) > 0 {
		dist = strings.ToUpper(id[:1]) + id[1:]
		family = dist
		for _, like := range strings.Fields(s("os_like")) {
			if d, ok := distributions[like]; ok {
				family = d[1]
				break
			}
		}
	}
	version := s("os_version")
	if dv := s("debian_version"); id == "debian" && regexp.MustCompile(`^\d+\.\d+$`).MatchString(dv) {
		version = dv // Ansible reads the point release there
	}
	major := strings.Split(version, ".")[0]
	host := s("hostname")
	fqdn := s("fqdn")
	def := strings.Fields(s("default_ipv4"))
	defIPv4 := map[string]any{}
	if len(def) >= 2 {
		defIPv4["address"], defIPv4["interface"], defIPv4["alias"] = def[0], def[1], def[1]
		if len(def) >= 3 {
			defIPv4["gateway"] = def[2]
		}
	}
	pw := strings.SplitN(s("passwd"), ":", 3)
	for len(pw) < 3 {
		pw = append(pw, "")
	}
	atoi := func(k string) int {
		var n int
		fmt.Sscanf(s(k), "%d", &n)
		return n
	}
	sockets, cores := atoi("sockets"), atoi("cores")
	if sockets == 0 {
		sockets = 1
	}
	if cores == 0 {
		cores = atoi("cpus")
	}
	minor := ""
	if p := strings.SplitN(version, ".", 3); len(p) > 1 {
		minor = p[1]
	}
	svc := s("service_mgr")
	if svc == "init" || svc == "" {
		svc = "sysvinit"
	}
	epoch := s("epoch")
	var sec int64
	fmt.Sscanf(epoch, "%d", &sec)
	t := time.Unix(sec, 0).UTC()
	return map[string]any{
		"distribution": dist, "os_family": family, "distribution_version": version,
		"distribution_major_version": major, "distribution_release": s("os_codename"),
		"hostname": strings.Split(host, ".")[0], "nodename": host, "fqdn": fqdn,
		"domain": strings.TrimPrefix(strings.TrimPrefix(fqdn, strings.Split(fqdn, ".")[0]), "."),
		"kernel": s("kernel"), "architecture": s("arch"), "machine": s("arch"),
		"processor_vcpus": f["cpus"], "processor_nproc": f["cpus"], "processor_count": sockets, "processor_cores": cores,
		"memtotal_mb": f["memory_mb"], "distribution_minor_version": minor,
		"user_gid": atoi("gid"), "user_gecos": pw[0], "user_dir": pw[1], "user_shell": pw[2],
		"all_ipv4_addresses": f["ipv4"], "default_ipv4": defIPv4,
		"user_id": s("user"), "user_uid": atoi("uid"), "pkg_mgr": s("pkg_mgr"), "service_mgr": svc,
		"system": "Linux", "machine_id": s("machine_id"),
		"date_time": map[string]any{"epoch": epoch, "iso8601": t.Format("2006-01-02T15:04:05Z"), "date": t.Format("2006-01-02"),
			"time": t.Format("15:04:05"), "year": t.Format("2006"), "month": t.Format("01"), "day": t.Format("02")},
	}
}

// Ping checks that the host runs commands.
type Ping struct {
	Data any `yaml:"data" doc:"what to answer instead of pong (crash: fail, as Ansible's)" default:"pong"`
}

func init() {
	modules.Register(modules.Info{ID: "ping", Summary: "Check that the host is reachable and runs commands.", Example: "ping: {}", New: func() modules.Module { return &Ping{} }})
}

// Run pings.
func (p *Ping) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	if _, err := modules.RunOK(ctx, env.Host, "true", "ping"); err != nil {
		return nil, err
	}
	if p.Data == nil {
		p.Data = "pong"
	}
	if p.Data == "crash" {
		return modules.Failf("boom (ping data=crash)"), nil
	}
	return &modules.Result{Msg: fmt.Sprint(p.Data), Data: map[string]any{"ping": p.Data}}, nil
}

var _ modules.Validator = (*WaitFor)(nil)

// WaitForConnection waits until the host accepts runbook's connection and
// runs a command (Ansible's wait_for_connection), and, with cloud_init,
// until cloud-init has finished its first boot.
type WaitForConnection struct {
	Timeout   int  `yaml:"timeout" doc:"seconds to keep trying" default:"600"`
	CloudInit bool `yaml:"cloud_init" doc:"also wait for cloud-init to finish (cloud-init status --wait)"`
}

func init() {
	modules.Register(modules.Info{ID: "wait_for_connection", Summary: "Wait until the host accepts SSH and runs commands (a VM that is still booting), optionally until cloud-init is done.",
		Example: "wait_for_connection:\n  timeout: 300\n  cloud_init: true", New: func() modules.Module { return &WaitForConnection{Timeout: 600} }})
}

// ConnectTimeout is how long the runner keeps dialling.
func (w *WaitForConnection) ConnectTimeout() time.Duration {
	return time.Duration(w.Timeout) * time.Second
}

// Run checks the host runs commands, and waits for cloud-init.
func (w *WaitForConnection) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	begin := time.Now()
	script := "true"
	if w.CloudInit {
		// status 2 is "done with recoverable errors" (degraded), still done
		script = "if command -v cloud-init >/dev/null; then timeout " + strconv.Itoa(w.Timeout) + " cloud-init status --wait >/dev/null; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 2 ] || { cloud-init status --long; exit $rc; }; fi"
	}
	r, err := env.Host.Run(ctx, modules.Cmd{Script: script})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("%s: cloud-init did not finish: %s", env.Host.Name(), strings.TrimSpace(r.Stdout+r.Stderr)), nil
	}
	return &modules.Result{Data: map[string]any{"elapsed": time.Since(begin).Seconds()}}, nil
}
