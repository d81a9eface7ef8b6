package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "uri", Summary: "Make an HTTP request from the host (curl): status, headers, body and JSON for register.",
		Example: "uri:\n  url: http://127.0.0.1:8008/health\n  return_content: true\nregister: health", New: func() modules.Module { return &URI{} }})
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
	// a read is sent in check mode too (its answer is what the task is
	// for); anything else only when the run applies its plans
	if u.Method == "GET" || u.Method == "HEAD" {
		return u.send(ctx, env)
	}
	return modules.Act(func(ctx context.Context) (*modules.Result, error) { return u.send(ctx, env) }), nil
}

// send makes the request and reads the answer.
func (u *URI) send(ctx context.Context, env *modules.Env) (*modules.Result, error) {
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

var _ modules.Validator = (*URI)(nil)
