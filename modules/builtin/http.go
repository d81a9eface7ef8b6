package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

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

// URI makes an HTTP request from the host (Ansible's uri), with curl.
type URI struct {
	URL             string            `yaml:"url" doc:"http or https URL"`
	Method          string            `yaml:"method" doc:"GET, POST, PUT, DELETE, HEAD, PATCH, OPTIONS" default:"GET"`
	Body            any               `yaml:"body" doc:"request body (a mapping with body_format json)"`
	BodyFormat      string            `yaml:"body_format" doc:"raw, json or form-urlencoded" default:"raw"`
	Headers         map[string]string `yaml:"headers" doc:"request headers"`
	StatusCode      modules.IntList   `yaml:"status_code" doc:"accepted status codes (one or a list)" default:"200"`
	ReturnContent   bool              `yaml:"return_content" doc:"return the body as content (and json when it is JSON)"`
	Timeout         int               `yaml:"timeout" doc:"seconds for the request" default:"30"`
	URLUsername     string            `yaml:"url_username" aliases:"user" doc:"user for HTTP basic authentication"`
	URLPassword     modules.Secret    `yaml:"url_password" aliases:"password" doc:"its password (given to curl on stdin, never in arguments)"`
	ValidateCerts   *bool             `yaml:"validate_certs" doc:"check the server's TLS certificate" default:"true"`
	FollowRedirects string            `yaml:"follow_redirects" doc:"safe (GET and HEAD), all, or none" default:"safe"`
	Creates         string            `yaml:"creates" doc:"skip when this path exists on the host"`
	Removes         string            `yaml:"removes" doc:"skip unless this path exists on the host"`
	ForceBasicAuth  bool              `yaml:"force_basic_auth" doc:"accepted for Ansible playbooks: curl sends basic authentication when a user is given"`
}

func init() {
	modules.Register(modules.Info{ID: "get_url", Summary: "Download a file on the host (curl), with an optional checksum; kept when already there.",
		Example: "get_url:\n  url: https://example.org/tool.tar.gz\n  dest: /opt/tool.tar.gz\n  checksum: sha256:0123...\n  mode: 0644", New: func() modules.Module { return &GetURL{} }})
	modules.Register(modules.Info{ID: "uri", Summary: "Make an HTTP request from the host (curl): status, headers, body and JSON for register.",
		Example: "uri:\n  url: http://127.0.0.1:8008/health\n  return_content: true\nregister: health", New: func() modules.Module { return &URI{} }})
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

// Validate checks the arguments.
func (u *URI) Validate() error {
	if err := checkURL(u.URL, "http", "https"); err != nil {
		return fmt.Errorf("uri: %v", err)
	}
	u.Method = strings.ToUpper(u.Method)
	if !regexp.MustCompile(`^[A-Z]+$`).MatchString(u.Method) {
		return fmt.Errorf("uri: %q is not an HTTP method", u.Method)
	}
	switch u.BodyFormat {
	case "raw", "json", "form-urlencoded":
	default:
		return fmt.Errorf("uri: body_format must be raw, json or form-urlencoded, got %q", u.BodyFormat)
	}
	switch u.FollowRedirects {
	case "safe", "all", "none", "yes", "no", "urllib2":
	default:
		return fmt.Errorf("uri: follow_redirects must be safe, all or none, got %q", u.FollowRedirects)
	}
	return nil
}

func checkURL(raw string, schemes ...string) error {
	p, err := url.Parse(raw)
	if err != nil {
		return err
	}
	for _, s := range schemes {
		if p.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("%q: the scheme must be one of %s", raw, strings.Join(schemes, ", "))
}

// curlQuote writes a value for a curl config file (double quotes, backslash
// escapes), read by `curl -K -` from stdin: nothing in the arguments.
func curlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// curlConfig is the request as a curl config.
func curlConfig(rawURL string, headers map[string]string, user string, password modules.Secret, insecure bool, timeout int) *strings.Builder {
	var b strings.Builder
	fmt.Fprintf(&b, "url = %s\n", curlQuote(rawURL))
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "header = %s\n", curlQuote(k+": "+headers[k]))
	}
	if user != "" {
		fmt.Fprintf(&b, "user = %s\n", curlQuote(user+":"+string(password)))
	}
	if insecure {
		b.WriteString("insecure\n")
	}
	if timeout > 0 {
		fmt.Fprintf(&b, "max-time = %d\n", timeout)
	}
	return &b
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
	if env.Check {
		res.Changed, res.Msg = true, "would download "+g.URL
		return res, nil
	}
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
	r, err := env.Host.Run(ctx, modules.Cmd{Script: script, Stdin: []byte(cfg.String()), Secret: g.URLPassword != ""})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("get_url %s: %s", g.URL, strings.TrimSpace(r.Stderr)), nil
	}
	res.Changed = strings.TrimSpace(r.Stdout) == "new"
	out, err := g.attrs(ctx, env, res, dest)
	if err == nil && res.Changed {
		out.Changed = true
	}
	return out, err
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

// Run sends the request and judges the status.
func (u *URI) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	if u.Creates != "" || u.Removes != "" {
		for _, c := range []struct {
			path string
			skip bool
		}{{u.Creates, true}, {u.Removes, false}} {
			if c.path == "" {
				continue
			}
			st, err := modules.Stat(ctx, env.Host, c.path, false)
			if err != nil {
				return nil, err
			}
			if st.Exists == c.skip {
				return &modules.Result{Skipped: true, Msg: "skipped: " + c.path + map[bool]string{true: " exists", false: " does not exist"}[c.skip]}, nil
			}
		}
	}
	if env.Check && u.Method != "GET" && u.Method != "HEAD" {
		return &modules.Result{Skipped: true, Msg: "a " + u.Method + " request is not sent under --check"}, nil
	}
	cfg := curlConfig(u.URL, u.Headers, u.URLUsername, u.URLPassword, u.ValidateCerts != nil && !*u.ValidateCerts, u.Timeout)
	fmt.Fprintf(cfg, "request = %s\nsilent\nshow-error\ninclude\n", curlQuote(u.Method))
	if u.FollowRedirects == "all" || u.FollowRedirects == "yes" || (u.FollowRedirects == "safe" && (u.Method == "GET" || u.Method == "HEAD")) {
		cfg.WriteString("location\n")
	}
	if u.Method == "HEAD" {
		cfg.WriteString("head\n")
	}
	if u.Body != nil {
		body, ctype, err := u.encodeBody()
		if err != nil {
			return modules.Failf("uri: %v", err), nil
		}
		if _, set := u.Headers["Content-Type"]; !set && ctype != "" {
			fmt.Fprintf(cfg, "header = %s\n", curlQuote("Content-Type: "+ctype))
		}
		fmt.Fprintf(cfg, "data-binary = %s\n", curlQuote(body))
	}
	cfg.WriteString("write-out = \"\\n%{http_code}\"\n")
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "curl -K -", Stdin: []byte(cfg.String()), Secret: u.URLPassword != ""})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("uri %s: %s", u.URL, strings.TrimSpace(r.Stderr)), nil
	}
	i := strings.LastIndex(r.Stdout, "\n")
	status, _ := strconv.Atoi(strings.TrimSpace(r.Stdout[i+1:]))
	headers, body := splitResponse(r.Stdout[:max(i, 0)])
	data := map[string]any{"status": status, "url": u.URL, "msg": fmt.Sprintf("OK (%d bytes)", len(body))}
	for k, v := range headers {
		data[strings.ReplaceAll(strings.ToLower(k), "-", "_")] = v
	}
	if u.ReturnContent {
		data["content"] = body
		if strings.Contains(headers["Content-Type"], "json") {
			var js any
			if json.Unmarshal([]byte(body), &js) == nil {
				data["json"] = js
			}
		}
	}
	res := &modules.Result{Data: data}
	ok := false
	for _, c := range u.StatusCode {
		ok = ok || c == status
	}
	if !ok {
		res.Failed = true
		res.Msg = fmt.Sprintf("Status code was %d and not %v", status, u.StatusCode)
	}
	return res, nil
}

// splitResponse separates the last header block (after redirects) from
// the body of curl --include output.
func splitResponse(out string) (map[string]string, string) {
	headers := map[string]string{}
	rest := out
	for strings.HasPrefix(rest, "HTTP/") {
		end, sep := strings.Index(rest, "\r\n\r\n"), 4
		if end < 0 {
			end, sep = strings.Index(rest, "\n\n"), 2
		}
		if end < 0 {
			break
		}
		headers = map[string]string{}
		for _, l := range strings.Split(strings.ReplaceAll(rest[:end], "\r\n", "\n"), "\n")[1:] {
			if k, v, ok := strings.Cut(l, ":"); ok {
				headers[http1Canonical(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		rest = rest[end+sep:]
	}
	return headers, rest
}

func http1Canonical(k string) string {
	parts := strings.Split(strings.ToLower(k), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

func (u *URI) encodeBody() (string, string, error) {
	switch u.BodyFormat {
	case "json":
		if s, ok := u.Body.(string); ok {
			return s, "application/json", nil
		}
		b, err := json.Marshal(u.Body)
		return string(b), "application/json", err
	case "form-urlencoded":
		m, ok := u.Body.(map[string]any)
		if !ok {
			if s, ok := u.Body.(string); ok {
				return s, "application/x-www-form-urlencoded", nil
			}
			return "", "", errors.New("body_format form-urlencoded needs a mapping")
		}
		v := url.Values{}
		for k, x := range m {
			v.Set(k, fmt.Sprint(x))
		}
		return v.Encode(), "application/x-www-form-urlencoded", nil
	}
	return fmt.Sprint(u.Body), "", nil
}

var (
	_ modules.Validator = (*GetURL)(nil)
	_ modules.Validator = (*URI)(nil)
)
