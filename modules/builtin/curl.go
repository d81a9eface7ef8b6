package builtin

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

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
