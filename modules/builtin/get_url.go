package builtin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "get_url", Summary: "Download a file on the host (curl), with an optional checksum; kept when already there.",
		Example: "get_url:\n  url: https://example.org/tool.tar.gz\n  dest: /opt/tool.tar.gz\n  checksum: sha256:0123...\n  mode: 0644", New: func() modules.Module { return &GetURL{} }})
}

// GetURL downloads a file on the host (Ansible's get_url), with curl.
type GetURL struct {
	URL            string            `yaml:"url" doc:"http, https or ftp URL"`
	Dest           string            `yaml:"dest" doc:"the file on the host (a folder: the URL's file name inside it)"`
	Checksum       string            `yaml:"checksum" doc:"ALGORITHM:HEX (sha256:...), or ALGORITHM:URL of a checksums file"`
	SHA256Sum      string            `yaml:"sha256sum" doc:"the old spelling of checksum: sha256:HEX"`
	Force          bool              `yaml:"force" doc:"download even when dest exists (without it, an existing file with the right checksum is kept)"`
	Mode           modules.Mode      `yaml:"mode" doc:"octal mode"`
	Owner          string            `yaml:"owner" doc:"owner"`
	Group          string            `yaml:"group" doc:"group"`
	Timeout        int               `yaml:"timeout" doc:"seconds for the request" default:"10"`
	Headers        map[string]string `yaml:"headers" doc:"request headers"`
	URLUsername    string            `yaml:"url_username" aliases:"username" doc:"user for HTTP basic authentication"`
	URLPassword    modules.Secret    `yaml:"url_password" aliases:"password" doc:"its password (given to curl on stdin, never in arguments)"`
	ValidateCerts  *bool             `yaml:"validate_certs" doc:"check the server's TLS certificate" default:"true"`
	Backup         bool              `yaml:"backup" doc:"keep the old file as DEST.PID.DATE@TIME~"`
	ForceBasicAuth bool              `yaml:"force_basic_auth" doc:"accepted for Ansible playbooks: curl sends basic authentication when a user is given"`
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{32,128}$`)

var checksumRE = regexp.MustCompile(`^(md5|sha1|sha224|sha256|sha384|sha512):(.+)$`)

// Validate checks the arguments.
func (g *GetURL) Validate() error {
	if g.URL == "" || g.Dest == "" {
		return errors.New("get_url: url and dest are required")
	}
	if err := checkURL(g.URL, "http", "https", "ftp", "file"); err != nil {
		return fmt.Errorf("get_url: %v", err)
	}
	if g.SHA256Sum != "" && g.Checksum == "" {
		g.Checksum = "sha256:" + g.SHA256Sum
	}
	if g.Checksum != "" && !checksumRE.MatchString(g.Checksum) {
		return fmt.Errorf("get_url: checksum must be ALGORITHM:HEX or ALGORITHM:URL (sha256:...), got %q", g.Checksum)
	}
	return nil
}

// Run downloads to a temporary file next to dest, checks it, and replaces
// dest only when it differs.
func (g *GetURL) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	dest := g.Dest
	if st, err := modules.Stat(ctx, env.Host, dest, false); err != nil {
		return nil, err
	} else if st.IsDir || strings.HasSuffix(dest, "/") {
		p, _ := url.Parse(g.URL)
		dest = strings.TrimSuffix(dest, "/") + "/" + path.Base(p.Path)
	}
	algo, want := "", ""
	if m := checksumRE.FindStringSubmatch(g.Checksum); m != nil {
		algo, want = m[1], m[2]
		if !strings.Contains(want, "://") {
			want = strings.ToLower(want)
		} else {
			sum, err := g.remoteChecksum(ctx, env, want, dest)
			if err != nil {
				return nil, err
			}
			want = sum
		}
		// a sum is hex digits: anything else (a checksums file's line is
		// the host's or a server's text) is refused, never sent to a shell
		if !hexRE.MatchString(want) {
			return modules.Failf("get_url: checksum %q is not a %s sum (hex digits)", want, algo), nil
		}
	}
	res := &modules.Result{Data: map[string]any{"dest": dest, "url": g.URL}}
	st, err := modules.Stat(ctx, env.Host, dest, false)
	if err != nil {
		return nil, err
	}
	q := modules.Quote(dest)
	if st.Exists && !g.Force {
		if want == "" {
			return g.attrs(ctx, env, res, dest)
		}
		r, err := modules.RunOK(ctx, env.Host, algo+"sum < "+q+" | cut -d' ' -f1", algo+"sum")
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(r.Stdout) == want {
			return g.attrs(ctx, env, res, dest)
		}
	}
	res.Changed, res.Msg = true, "download "+g.URL
	cfg := curlConfig(g.URL, g.Headers, g.URLUsername, g.URLPassword, g.ValidateCerts != nil && !*g.ValidateCerts, g.Timeout)
	cfg.WriteString("location\nfail\nsilent\nshow-error\n")
	dir := dest[:strings.LastIndex(dest, "/")+1]
	script := "set -e\nt=$(mktemp " + modules.Quote(modules.Or(dir, "./")+".runbook-get.XXXXXX") + ")\n" +
		"trap 'rm -f \"$t\"' EXIT\ncurl -K - -o \"$t\"\n"
	if want != "" {
		script += fmt.Sprintf("s=$(%ssum < \"$t\" | cut -d' ' -f1)\n[ \"$s\" = %s ] || { echo \"checksum mismatch: got $s, want \"%s >&2; exit 65; }\n", algo, modules.Quote(want), modules.Quote(want))
	}
	script += "if [ -e " + q + " ] && cmp -s \"$t\" " + q + "; then echo same; exit 0; fi\n"
	if g.Backup {
		script += "[ -e " + q + " ] && cp -p " + q + " " + q + ".$$.$(date +%Y-%m-%d@%H:%M:%S)~\n"
	}
	script += "chmod 0644 \"$t\"\nmv -f \"$t\" " + q + "\ntrap - EXIT\necho new\n"
	res.Apply = func(ctx context.Context) error {
		r, err := env.Host.Run(ctx, modules.Cmd{Script: script, Stdin: []byte(cfg.String()), Secret: g.URLPassword != ""})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("get_url %s: %s", g.URL, strings.TrimSpace(r.Stderr))
			return nil
		}
		if res.Changed = strings.TrimSpace(r.Stdout) == "new"; !res.Changed {
			res.Msg = ""
		}
		// mode and owner of the file as it is now: file's plan, carried out
		out, err := g.attrs(ctx, env, res, dest)
		if err != nil || out != res {
			if out != nil {
				*res = *out
			}
			return err
		}
		return res.Do(ctx)
	}
	return res, nil
}

// attrs brings mode and owner to what was asked.
func (g *GetURL) attrs(ctx context.Context, env *modules.Env, res *modules.Result, dest string) (*modules.Result, error) {
	if !g.Mode.Set && g.Owner == "" && g.Group == "" {
		return res, nil
	}
	f := &File{Path: dest, State: "file", Mode: g.Mode, Owner: g.Owner, Group: g.Group}
	fr, err := f.Run(ctx, env)
	if err != nil || fr.Failed {
		return fr, err
	}
	res.Changed = res.Changed || fr.Changed
	res.Then(fr.Apply) // file's own plan, after the download
	return res, nil
}

// remoteChecksum reads a checksums file (SHA256SUMS) from the host and
// finds the line for dest's file name.
func (g *GetURL) remoteChecksum(ctx context.Context, env *modules.Env, sumsURL, dest string) (string, error) {
	cfg := curlConfig(sumsURL, g.Headers, g.URLUsername, g.URLPassword, g.ValidateCerts != nil && !*g.ValidateCerts, g.Timeout)
	cfg.WriteString("location\nfail\nsilent\nshow-error\n")
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "curl -K -", Stdin: []byte(cfg.String()), Secret: g.URLPassword != ""})
	if err != nil {
		return "", err
	}
	if r.RC != 0 {
		return "", fmt.Errorf("get_url: checksum file %s: %s", sumsURL, strings.TrimSpace(r.Stderr))
	}
	p, _ := url.Parse(g.URL)
	name := path.Base(p.Path)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 2 && strings.TrimPrefix(f[1], "*") == name || len(f) >= 2 && strings.TrimPrefix(f[1], "*./") == name {
			return strings.ToLower(f[0]), nil
		}
	}
	if len(lines) == 1 && len(strings.Fields(lines[0])) == 1 {
		return strings.ToLower(strings.TrimSpace(lines[0])), nil
	}
	return "", fmt.Errorf("get_url: %s has no line for %s", sumsURL, name)
}

var _ modules.Validator = (*GetURL)(nil)
