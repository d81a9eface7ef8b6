package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "facts", Summary: "Gather host facts (OS id, version and codename, hostname, IPv4 addresses, CPUs, memory, /dev/kvm, the apt mirror); run automatically when gather_facts is on.",
		Example: "facts: {}", New: func() modules.Module { return &Facts{} }})
}

// Facts gathers what playbooks commonly test: OS, version, hostname,
// addresses, CPUs and memory.
type Facts struct {
	GatherSubset  modules.StringList `yaml:"gather_subset" doc:"accepted for Ansible playbooks (setup); runbook gathers one small set"`
	Filter        modules.StringList `yaml:"filter" doc:"accepted for Ansible playbooks (setup); every fact is returned"`
	GatherTimeout int                `yaml:"gather_timeout" doc:"accepted for Ansible playbooks (setup)"`
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
