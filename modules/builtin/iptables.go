package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Iptables is Ansible's iptables: one rule (present or absent, appended
// or inserted), a chain's policy, a flush, or a chain created/deleted. The
// rule's words are built in Ansible's order, so `iptables -C` finds the
// rules Ansible made and the reverse.
type Iptables struct {
	Table           string             `yaml:"table" default:"filter" doc:"filter, nat, mangle, raw or security"`
	State           string             `yaml:"state" default:"present" doc:"present or absent"`
	Action          string             `yaml:"action" default:"append" doc:"append or insert (at rule_num, else first)"`
	IPVersion       string             `yaml:"ip_version" default:"ipv4" doc:"ipv4 (iptables) or ipv6 (ip6tables)"`
	Chain           string             `yaml:"chain" doc:"INPUT, FORWARD, OUTPUT, PREROUTING, POSTROUTING or a user chain"`
	RuleNum         string             `yaml:"rule_num" doc:"position for action=insert"`
	Protocol        string             `yaml:"protocol" doc:"tcp, udp, icmp, all... (! negates)"`
	Wait            string             `yaml:"wait" doc:"seconds to wait for the xtables lock"`
	Source          string             `yaml:"source" doc:"source address[/mask] (! negates)"`
	ToSource        string             `yaml:"to_source" doc:"SNAT target address"`
	Destination     string             `yaml:"destination" doc:"destination address[/mask] (! negates)"`
	ToDestination   string             `yaml:"to_destination" doc:"DNAT target address"`
	Match           modules.StringList `yaml:"match" doc:"match extensions (-m), e.g. tcp, state"`
	TCPFlags        *iptablesTCPFlags  `yaml:"tcp_flags" doc:"flags (list) and flags_set (list)"`
	Jump            string             `yaml:"jump" doc:"the target: ACCEPT, DROP, REJECT, LOG, a chain..."`
	Gateway         string             `yaml:"gateway" doc:"the TEE target's gateway"`
	LogPrefix       string             `yaml:"log_prefix" doc:"LOG prefix (jump LOG)"`
	LogLevel        string             `yaml:"log_level" doc:"LOG level (jump LOG)"`
	Goto            string             `yaml:"goto" doc:"continue in this chain (-g)"`
	InInterface     string             `yaml:"in_interface" doc:"incoming interface (-i)"`
	OutInterface    string             `yaml:"out_interface" doc:"outgoing interface (-o)"`
	Fragment        string             `yaml:"fragment" doc:"-f"`
	SetCounters     string             `yaml:"set_counters" doc:"-c PACKETS BYTES"`
	SourcePort      string             `yaml:"source_port" doc:"source port or range (! negates)"`
	DestinationPort string             `yaml:"destination_port" doc:"destination port or range (! negates)"`
	DestPorts       modules.StringList `yaml:"destination_ports" doc:"several destination ports (multiport)"`
	ToPorts         string             `yaml:"to_ports" doc:"REDIRECT/MASQUERADE ports"`
	SetDSCPMark     string             `yaml:"set_dscp_mark" doc:"DSCP target value"`
	SetDSCPClass    string             `yaml:"set_dscp_mark_class" doc:"DSCP target class"`
	Comment         string             `yaml:"comment" doc:"a comment on the rule (comment match)"`
	CTState         modules.StringList `yaml:"ctstate" doc:"connection states: NEW, ESTABLISHED, RELATED, INVALID..."`
	SrcRange        string             `yaml:"src_range" doc:"source address range (iprange)"`
	DstRange        string             `yaml:"dst_range" doc:"destination address range (iprange)"`
	MatchSet        string             `yaml:"match_set" doc:"an ipset name"`
	MatchSetFlags   string             `yaml:"match_set_flags" doc:"src, dst, src,dst or dst,src"`
	Limit           string             `yaml:"limit" doc:"rate, e.g. 10/second"`
	LimitBurst      string             `yaml:"limit_burst" doc:"burst for limit"`
	UIDOwner        string             `yaml:"uid_owner" doc:"owner match by user (! negates)"`
	GIDOwner        string             `yaml:"gid_owner" doc:"owner match by group (! negates)"`
	RejectWith      string             `yaml:"reject_with" doc:"REJECT's --reject-with (jump REJECT implied)"`
	ICMPType        string             `yaml:"icmp_type" doc:"ICMP (or ICMPv6) type"`
	Syn             string             `yaml:"syn" default:"ignore" doc:"ignore, match or negate"`
	Flush           bool               `yaml:"flush" doc:"flush the chain (or the whole table without chain)"`
	Policy          string             `yaml:"policy" doc:"the chain's policy: ACCEPT, DROP, QUEUE or RETURN"`
	ChainManagement bool               `yaml:"chain_management" doc:"create a missing user chain for a rule; delete it with state=absent and no rule"`
}

type iptablesTCPFlags struct {
	Flags    []string `yaml:"flags"`
	FlagsSet []string `yaml:"flags_set"`
}

func init() {
	modules.Register(modules.Info{ID: "iptables", Summary: "One iptables rule present or absent (appended or inserted), a chain's policy, a flush, a user chain; Ansible's arguments and rule order.",
		Example: "iptables:\n  chain: INPUT\n  protocol: tcp\n  destination_port: '5432'\n  source: 192.168.100.0/24\n  jump: ACCEPT\n  comment: PostgreSQL from the lab",
		New:     func() modules.Module { return &Iptables{} }})
}

// Validate checks the choices and what Ansible refuses together.
func (m *Iptables) Validate() error {
	choices := []struct{ name, val, allowed string }{
		{"table", m.Table, "filter nat mangle raw security"}, {"state", m.State, "present absent"},
		{"action", m.Action, "append insert"}, {"ip_version", m.IPVersion, "ipv4 ipv6"},
		{"syn", m.Syn, "ignore match negate"}, {"policy", m.Policy, " ACCEPT DROP QUEUE RETURN"},
		{"match_set_flags", m.MatchSetFlags, " src dst src,dst dst,src"},
		{"log_level", m.LogLevel, " 0 1 2 3 4 5 6 7 emerg alert crit error warning notice info debug"},
	}
	for _, c := range choices {
		ok := false
		for _, a := range strings.Split(c.allowed, " ") {
			ok = ok || a == c.val
		}
		if !ok {
			return fmt.Errorf("iptables: %s %q: expected one of %s", c.name, c.val, strings.TrimSpace(c.allowed))
		}
	}
	if m.Flush && m.Policy != "" {
		return fmt.Errorf("iptables: flush and policy are mutually exclusive")
	}
	if m.SetDSCPMark != "" && m.SetDSCPClass != "" {
		return fmt.Errorf("iptables: set_dscp_mark and set_dscp_mark_class are mutually exclusive")
	}
	if strings.EqualFold(m.Jump, "tee") && m.Gateway == "" {
		return fmt.Errorf("iptables: jump TEE needs gateway")
	}
	if !m.Flush && m.Chain == "" {
		return fmt.Errorf("iptables: either chain or flush must be given")
	}
	if (m.LogPrefix != "" || m.LogLevel != "") && m.Jump != "" && m.Jump != "LOG" {
		return fmt.Errorf("iptables: logging options can only be used with the LOG jump target")
	}
	return nil
}

// rule is the rule's words in Ansible's order (construct_rule), with this
// jump target.
func (m *Iptables) rule(jump string) []string {
	var r []string
	param := func(v, flag string) {
		if v == "" {
			return
		}
		if v[0] == '!' {
			r = append(r, "!", flag, v[1:])
		} else {
			r = append(r, flag, v)
		}
	}
	matchOf := func(on bool, name string) {
		if on {
			r = append(r, "-m", name)
		}
	}
	flag := func(v, f string, negatable bool) {
		if v == "match" {
			r = append(r, f)
		} else if negatable && v == "negate" {
			r = append(r, "!", f)
		}
	}
	has := func(name string) bool {
		for _, x := range m.Match {
			if x == name {
				return true
			}
		}
		return false
	}
	if m.Wait != "" {
		r = append(r, "-w", m.Wait)
	}
	param(m.Protocol, "-p")
	param(m.Source, "-s")
	param(m.Destination, "-d")
	for _, x := range m.Match {
		param(x, "-m")
	}
	if m.TCPFlags != nil && m.TCPFlags.Flags != nil && m.TCPFlags.FlagsSet != nil {
		r = append(r, "--tcp-flags", strings.Join(m.TCPFlags.Flags, ","), strings.Join(m.TCPFlags.FlagsSet, ","))
	}
	param(jump, "-j")
	if strings.EqualFold(jump, "tee") {
		param(m.Gateway, "--gateway")
	}
	param(m.LogPrefix, "--log-prefix")
	param(m.LogLevel, "--log-level")
	param(m.ToDestination, "--to-destination")
	if len(m.DestPorts) > 0 {
		r = append(r, "-m", "multiport", "--dports", strings.Join(m.DestPorts, ","))
	}
	param(m.ToSource, "--to-source")
	param(m.Goto, "-g")
	param(m.InInterface, "-i")
	param(m.OutInterface, "-o")
	param(m.Fragment, "-f")
	param(m.SetCounters, "-c")
	param(m.SourcePort, "--source-port")
	param(m.DestinationPort, "--destination-port")
	param(m.ToPorts, "--to-ports")
	param(m.SetDSCPMark, "--set-dscp")
	param(m.SetDSCPClass, "--set-dscp-class")
	flag(m.Syn, "--syn", true)
	states := strings.Join(m.CTState, ",")
	switch {
	case has("conntrack") && states != "":
		r = append(r, "--ctstate", states)
	case has("state") && states != "":
		r = append(r, "--state", states)
	case !has("conntrack") && !has("state") && states != "":
		r = append(r, "-m", "conntrack", "--ctstate", states)
	}
	if has("iprange") {
		param(m.SrcRange, "--src-range")
		param(m.DstRange, "--dst-range")
	} else if m.SrcRange != "" || m.DstRange != "" {
		r = append(r, "-m", "iprange")
		param(m.SrcRange, "--src-range")
		param(m.DstRange, "--dst-range")
	}
	if has("set") {
		param(m.MatchSet, "--match-set")
		if m.MatchSetFlags != "" {
			r = append(r, m.MatchSetFlags)
		}
	} else if m.MatchSet != "" {
		r = append(r, "-m", "set")
		param(m.MatchSet, "--match-set")
		if m.MatchSetFlags != "" {
			r = append(r, m.MatchSetFlags)
		}
	}
	matchOf(m.Limit != "" || m.LimitBurst != "", "limit")
	param(m.Limit, "--limit")
	param(m.LimitBurst, "--limit-burst")
	matchOf(m.UIDOwner != "", "owner")
	param(m.UIDOwner, "--uid-owner")
	matchOf(m.GIDOwner != "", "owner")
	param(m.GIDOwner, "--gid-owner")
	if jump == "" && m.RejectWith != "" {
		r = append(r, "-j", "REJECT")
	}
	param(m.RejectWith, "--reject-with")
	if m.IPVersion == "ipv6" {
		param(m.ICMPType, "--icmpv6-type")
	} else {
		param(m.ICMPType, "--icmp-type")
	}
	matchOf(m.Comment != "", "comment")
	param(m.Comment, "--comment")
	return r
}

// cmd is `iptables -t TABLE ACTION CHAIN [words]`, every word quoted.
func (m *Iptables) cmd(action string, words ...string) string {
	bin := "iptables"
	if m.IPVersion == "ipv6" {
		bin = "ip6tables"
	}
	argv := []string{bin, "-t", m.Table, action}
	if m.Chain != "" {
		argv = append(argv, m.Chain)
	}
	return modules.Join(append(argv, words...)...)
}

// Run compares and changes.
func (m *Iptables) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	jump := m.Jump
	if jump == "" && (m.LogPrefix != "" || m.LogLevel != "") {
		jump = "LOG" // logging options imply it, as in Ansible
	}
	rule := m.rule(jump)
	// the rule reported is Ansible's: built before LOG was implied
	res := &modules.Result{Data: map[string]any{"table": m.Table, "chain": m.Chain, "rule": strings.Join(m.rule(m.Jump), " "),
		"state": m.State, "flush": m.Flush, "ip_version": m.IPVersion, "chain_management": m.ChainManagement}}
	run := func(script string) (modules.CmdResult, error) { return env.Host.Run(ctx, modules.Cmd{Script: script}) }
	change := func(script string) error {
		res.Changed = true
		res.Then(func(ctx context.Context) error {
			_, err := modules.RunOK(ctx, env.Host, script, "iptables")
			return err
		})
		return nil
	}
	switch {
	case m.Flush:
		return res, change(m.cmd("-F"))
	case m.Policy != "":
		out, err := modules.RunOK(ctx, env.Host, m.cmd("-L"), "iptables")
		if err != nil {
			return nil, err
		}
		cur := regexp.MustCompile(`\(policy ([A-Z]+)\)`).FindStringSubmatch(strings.SplitN(out.Stdout, "\n", 2)[0])
		if cur == nil {
			return &modules.Result{Failed: true, Msg: "can't detect current policy"}, nil
		}
		if cur[1] != m.Policy {
			return res, change(m.cmd("-P") + " " + modules.Quote(m.Policy))
		}
		return res, nil
	case m.State == "absent" && len(rule) == 0:
		r, err := run(m.cmd("-L"))
		if err != nil {
			return nil, err
		}
		if r.RC == 0 {
			res.Changed = true
			if m.ChainManagement {
				err = change(m.cmd("-X"))
			}
		}
		return res, err
	}
	r, err := run(m.cmd("-C", rule...))
	if err != nil {
		return nil, err
	}
	present := r.RC == 0
	if present == (m.State == "present") {
		return res, nil
	}
	if m.State == "absent" {
		return res, change(m.cmd("-D", rule...))
	}
	script := ""
	if m.ChainManagement {
		if c, err := run(m.cmd("-L")); err != nil {
			return nil, err
		} else if c.RC != 0 {
			script = m.cmd("-N") + " && "
		}
	}
	if m.Action == "insert" {
		words := rule
		if m.RuleNum != "" {
			words = append([]string{m.RuleNum}, rule...)
		}
		return res, change(script + m.cmd("-I", words...))
	}
	return res, change(script + m.cmd("-A", rule...))
}
