package templates

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// FileGlob is Ansible's fileglob (the lookup, and with_fileglob): the
// regular files matching each pattern, non-recursively, sorted. A relative
// pattern is looked for in each base folder's files/ and then the folder
// itself; the first that holds its folder part is used, as Ansible finds a
// lookup's files.
func FileGlob(patterns []string, bases ...string) ([]any, error) {
	out := []any{}
	for _, pat := range patterns {
		tries := []string{pat}
		if !filepath.IsAbs(pat) {
			tries = nil
			for _, b := range bases {
				if b != "" {
					tries = append(tries, filepath.Join(b, "files", pat), filepath.Join(b, pat))
				}
			}
		}
		for _, t := range tries {
			if st, err := os.Stat(filepath.Dir(t)); err != nil || !st.IsDir() {
				continue
			}
			matches, err := filepath.Glob(t)
			if err != nil {
				return nil, fmt.Errorf("fileglob %s: %v", pat, err)
			}
			sort.Strings(matches)
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
					out = append(out, m)
				}
			}
			break
		}
	}
	return out, nil
}

// fileGlob is FileGlob for templates: one pattern, the folders as variables.
func fileGlob(pattern string, dirs ...any) ([]any, error) {
	var bases []string
	for _, d := range dirs {
		if s, ok := d.(string); ok {
			bases = append(bases, s)
		}
	}
	return FileGlob([]string{pattern}, bases...)
}

// urlTimeout is Ansible's url lookup default timeout.
const urlTimeout = 10 * time.Second

// lookupURL is Ansible's lookup('url', ...): the body of an HTTP(S) GET
// made by the machine running runbook, as its lines (split_lines, the
// default) or whole. A status other than 2xx is an error, as Ansible's.
func lookupURL(url string, splitLines bool) ([]any, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("lookup url: %q is not an http or https URL", url)
	}
	client := &http.Client{Timeout: urlTimeout}
	resp, err := client.Get(url)
	if err != nil {
		return nil, fmt.Errorf("lookup url: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("lookup url %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxLookup+1))
	if err != nil {
		return nil, fmt.Errorf("lookup url %s: %v", url, err)
	}
	if len(b) > maxLookup {
		return nil, fmt.Errorf("lookup url %s: more than %d MiB", url, maxLookup>>20)
	}
	if !splitLines {
		return []any{string(b)}, nil
	}
	out := []any{}
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		out = append(out, l)
	}
	return out, nil
}

// fileGlobConfined is fileGlob for a computed pattern: relative, inside
// the role's and playbook's folders, never climbing out of them.
func fileGlobConfined(pattern string, dirs ...any) ([]any, error) {
	if filepath.IsAbs(pattern) || strings.HasPrefix(filepath.Clean(pattern), "..") {
		return nil, fmt.Errorf("fileglob: %q is computed and reaches outside the playbook's and roles' folders (write an absolute pattern literally)", pattern)
	}
	return fileGlob(pattern, dirs...)
}

// lookupURLConfined is lookupURL for a computed URL (a value may have
// come from a host): it reaches public addresses only, never this
// machine, its networks or a cloud's metadata service.
func lookupURLConfined(rawURL string, splitLines bool) ([]any, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("lookup url: %q is not a URL", rawURL)
	}
	ips, err := net.LookupIP(u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("lookup url: %v", err)
	}
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() {
			return nil, fmt.Errorf("lookup url: %s is computed and names a local or private address (%s); write such a URL literally", rawURL, ip)
		}
	}
	return lookupURL(rawURL, splitLines)
}
