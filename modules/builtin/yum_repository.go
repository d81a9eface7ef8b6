package builtin

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// YumRepository is Ansible's yum_repository: one [repo] section of a
// .repo file, written as Python's configparser writes it (the section's
// keys sorted, booleans as 0/1), other sections kept; the file is rewritten
// only when its sections or values change, as Ansible decides.
type YumRepository struct {
	Name        string             `yaml:"name" required:"true" doc:"the repository id (the section name)"`
	Description string             `yaml:"description" doc:"its human name (required for state=present)"`
	BaseURL     modules.StringList `yaml:"baseurl" doc:"URL(s) of the repository"`
	Metalink    string             `yaml:"metalink" doc:"metalink URL"`
	Mirrorlist  string             `yaml:"mirrorlist" doc:"mirror list URL"`
	File        string             `yaml:"file" doc:"file name without .repo (default: the name)"`
	ReposDir    string             `yaml:"reposdir" default:"/etc/yum.repos.d" doc:"where the .repo files are"`
	State       string             `yaml:"state" default:"present" doc:"present or absent"`
	GPGKey      modules.StringList `yaml:"gpgkey" doc:"URL(s) of the signing keys"`
	Exclude     modules.StringList `yaml:"exclude" doc:"packages never taken from it"`
	IncludePkgs modules.StringList `yaml:"includepkgs" doc:"the only packages taken from it"`

	Enabled          *bool `yaml:"enabled" doc:"enabled (1/0)"`
	GPGCheck         *bool `yaml:"gpgcheck" doc:"check package signatures"`
	RepoGPGCheck     *bool `yaml:"repo_gpgcheck" doc:"check the metadata's signature"`
	SkipIfUnavail    *bool `yaml:"skip_if_unavailable" doc:"go on when it cannot be reached"`
	SSLVerify        *bool `yaml:"sslverify" aliases:"validate_certs" doc:"verify TLS certificates"`
	ModuleHotfixes   *bool `yaml:"module_hotfixes" doc:"let packages bypass modular filtering"`
	KeepAlive        *bool `yaml:"keepalive" doc:"HTTP keepalive"`
	Async            *bool `yaml:"async" doc:"parallel downloads"`
	EnableGroups     *bool `yaml:"enablegroups" doc:"use its package groups"`
	Protect          *bool `yaml:"protect" doc:"protect packages from updates by other repositories"`
	S3Enabled        *bool `yaml:"s3_enabled" doc:"an S3 repository"`
	SSLCheckCertPerm *bool `yaml:"ssl_check_cert_permissions" doc:"check the permissions of TLS files"`

	Bandwidth            string `yaml:"bandwidth" doc:"bandwidth limit"`
	Cost                 string `yaml:"cost" doc:"relative cost"`
	DeltaRPMMetaPercent  string `yaml:"deltarpm_metadata_percentage" doc:"deltarpm metadata percentage"`
	DeltaRPMPercent      string `yaml:"deltarpm_percentage" doc:"deltarpm percentage"`
	FailoverMethod       string `yaml:"failovermethod" doc:"roundrobin or priority"`
	GPGCAKey             string `yaml:"gpgcakey" doc:"CA key URL"`
	HTTPCaching          string `yaml:"http_caching" doc:"all, packages or none"`
	Include              string `yaml:"include" doc:"include another config"`
	IPResolve            string `yaml:"ip_resolve" doc:"4, 6, IPv4, IPv6 or whatever"`
	KeepCache            string `yaml:"keepcache" doc:"0 or 1"`
	MetadataExpire       string `yaml:"metadata_expire" doc:"metadata lifetime"`
	MetadataExpireFilter string `yaml:"metadata_expire_filter" doc:"never, read-only:past, read-only:present, read-only:future"`
	MirrorlistExpire     string `yaml:"mirrorlist_expire" doc:"mirror list lifetime"`
	Password             string `yaml:"password" doc:"HTTP password"`
	Priority             string `yaml:"priority" doc:"priority (1 is highest)"`
	Proxy                string `yaml:"proxy" doc:"proxy URL"`
	ProxyPassword        string `yaml:"proxy_password" doc:"proxy password"`
	ProxyUsername        string `yaml:"proxy_username" doc:"proxy user"`
	Retries              string `yaml:"retries" doc:"download retries"`
	SSLCACert            string `yaml:"sslcacert" aliases:"ca_cert" doc:"CA certificate file"`
	SSLClientCert        string `yaml:"sslclientcert" aliases:"client_cert" doc:"client certificate file"`
	SSLClientKey         string `yaml:"sslclientkey" aliases:"client_key" doc:"client key file"`
	Throttle             string `yaml:"throttle" doc:"bandwidth throttle"`
	Timeout              string `yaml:"timeout" doc:"connection timeout"`
	UIRepoidVars         string `yaml:"ui_repoid_vars" doc:"variables in the repository id"`
	Username             string `yaml:"username" doc:"HTTP user"`

	modules.FileAttrs `yaml:",inline"`
}

func init() {
	modules.Register(modules.Info{ID: "yum_repository", Summary: "A yum/dnf repository as a section of a .repo file (Ansible's file format and change rule)",
		Example: "yum_repository:\n  name: pgdg15\n  description: PostgreSQL 15\n  baseurl: https://download.postgresql.org/pub/repos/yum/15/redhat/rhel-$releasever-$basearch\n  gpgcheck: true",
		New:     func() modules.Module { return &YumRepository{} }})
}

// Validate checks what Ansible requires.
func (y *YumRepository) Validate() error {
	if y.State != "present" && y.State != "absent" {
		return fmt.Errorf("yum_repository: state %q: expected present or absent", y.State)
	}
	if y.State == "present" {
		if len(y.BaseURL) == 0 && y.Metalink == "" && y.Mirrorlist == "" {
			return fmt.Errorf("yum_repository: parameter 'baseurl', 'metalink' or 'mirrorlist' is required")
		}
		if y.Description == "" {
			return fmt.Errorf("yum_repository: parameter 'description' is required")
		}
	}
	if strings.ContainsAny(y.Name, "[]\n") || strings.ContainsAny(y.File, "/\n") {
		return fmt.Errorf("yum_repository: %q is not a repository id or %q a file name", y.Name, y.File)
	}
	return nil
}

// settings are the section's keys and values, as Ansible writes them.
func (y *YumRepository) settings() map[string]string {
	out := map[string]string{"name": y.Description}
	if len(y.BaseURL) > 0 {
		out["baseurl"] = strings.Join(y.BaseURL, "\n")
	}
	if len(y.GPGKey) > 0 {
		out["gpgkey"] = strings.Join(y.GPGKey, "\n")
	}
	if len(y.Exclude) > 0 {
		out["exclude"] = strings.Join(y.Exclude, " ")
	}
	if len(y.IncludePkgs) > 0 {
		out["includepkgs"] = strings.Join(y.IncludePkgs, " ")
	}
	v := reflect.ValueOf(y).Elem()
	for i := 0; i < v.NumField(); i++ {
		key := strings.Split(v.Type().Field(i).Tag.Get("yaml"), ",")[0]
		switch f := v.Field(i).Interface().(type) {
		case *bool:
			if f != nil {
				out[key] = map[bool]string{true: "1", false: "0"}[*f]
			}
		case string:
			if f != "" && repoKeys[key] {
				out[key] = f
			}
		}
	}
	return out
}

// repoKeys are the string arguments that are repo file keys.
var repoKeys = map[string]bool{"bandwidth": true, "cost": true, "deltarpm_metadata_percentage": true, "deltarpm_percentage": true,
	"failovermethod": true, "gpgcakey": true, "http_caching": true, "include": true, "ip_resolve": true, "keepcache": true,
	"metadata_expire": true, "metadata_expire_filter": true, "metalink": true, "mirrorlist": true, "mirrorlist_expire": true,
	"password": true, "priority": true, "proxy": true, "proxy_password": true, "proxy_username": true, "retries": true,
	"sslcacert": true, "sslclientcert": true, "sslclientkey": true, "throttle": true, "timeout": true, "ui_repoid_vars": true, "username": true}

// iniSection is one [section] of a configparser file, keys in file order.
type iniSection struct {
	name string
	keys []string
	vals map[string]string
}

// parseINI reads a file as Python's RawConfigParser does (keys lowercased,
// comments dropped, indented lines continue a value).
func parseINI(text string) []*iniSection {
	var out []*iniSection
	var cur *iniSection
	last := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';':
			continue
		case cur != nil && last != "" && (line[0] == ' ' || line[0] == '\t'):
			cur.vals[last] += "\n" + trimmed
		case trimmed[0] == '[' && strings.HasSuffix(trimmed, "]"):
			cur = &iniSection{name: trimmed[1 : len(trimmed)-1], vals: map[string]string{}}
			out = append(out, cur)
			last = ""
		case cur != nil:
			i := strings.IndexAny(trimmed, "=:")
			k, v := trimmed, ""
			if i >= 0 {
				k, v = strings.TrimSpace(trimmed[:i]), strings.TrimSpace(trimmed[i+1:])
			}
			k = strings.ToLower(k)
			if _, seen := cur.vals[k]; !seen {
				cur.keys = append(cur.keys, k)
			}
			cur.vals[k], last = v, k
		}
	}
	return out
}

// dump is Ansible's comparison form: sections and keys sorted.
func dumpINI(secs []*iniSection) string {
	sorted := append([]*iniSection(nil), secs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var b strings.Builder
	for _, s := range sorted {
		keys := append([]string(nil), s.keys...)
		sort.Strings(keys)
		fmt.Fprintf(&b, "[%s]\n", s.name)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s = %s\n", k, s.vals[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// writeINI is RawConfigParser.write: sections in order, continuation
// lines indented with a tab, a blank line after each section.
func writeINI(secs []*iniSection) string {
	var b strings.Builder
	for _, s := range secs {
		fmt.Fprintf(&b, "[%s]\n", s.name)
		for _, k := range s.keys {
			fmt.Fprintf(&b, "%s = %s\n", k, strings.ReplaceAll(s.vals[k], "\n", "\n\t"))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Run brings the section to the wanted state.
func (y *YumRepository) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	path := strings.TrimSuffix(y.ReposDir, "/") + "/" + modules.Or(y.File, y.Name) + ".repo"
	if d, err := modules.Stat(ctx, env.Host, y.ReposDir, false); err != nil {
		return nil, err
	} else if !d.IsDir {
		return modules.Failf("Repo directory '%s' does not exist.", y.ReposDir), nil
	}
	st, err := modules.Stat(ctx, env.Host, path, true)
	if err != nil {
		return nil, err
	}
	secs := parseINI(string(st.Content))
	before := dumpINI(secs)
	kept := secs[:0:0]
	for _, s := range secs {
		if s.name != y.Name {
			kept = append(kept, s)
		}
	}
	if y.State == "present" {
		set := y.settings()
		s := &iniSection{name: y.Name, vals: set}
		for k := range set {
			s.keys = append(s.keys, k)
		}
		sort.Strings(s.keys)
		kept = append(kept, s)
	}
	after := dumpINI(kept)
	data := map[string]any{"repo": y.Name, "state": y.State, "dest": path}
	if before == after && st.Exists {
		// the same repositories: at most the file's attributes change
		res, err := modules.PutFile(ctx, env, y.Spec(path, st.Content))
		if res != nil {
			res.Data = data
		}
		return res, err
	}
	if before == after {
		return &modules.Result{Data: data}, nil
	}
	if len(kept) == 0 {
		res := &modules.Result{Changed: true, Data: data, Diffs: []modules.Diff{{Path: path, Before: before, After: ""}}}
		res.Then(func(ctx context.Context) error {
			_, err := modules.RunOK(ctx, env.Host, "rm -f -- "+modules.Quote(path), "yum_repository")
			return err
		})
		return res, nil
	}
	res, err := modules.PutFile(ctx, env, y.Spec(path, []byte(writeINI(kept))))
	if res != nil {
		res.Data = data
		if env.Diff {
			res.Diffs = []modules.Diff{{Path: path, Before: before, After: after}}
		}
	}
	return res, err
}

var _ modules.Validator = (*YumRepository)(nil)
