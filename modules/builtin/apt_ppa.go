package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// ppaName is Ansible's ppa:OWNER[/NAME] (NAME defaults to "ppa").
var ppaName = regexp.MustCompile(`^ppa:([A-Za-z0-9][A-Za-z0-9.+_-]*)(?:/([A-Za-z0-9][A-Za-z0-9.+_-]*))?$`)

// codenameRE is a distribution codename (noble, bookworm): it goes into a
// source line, so nothing else may.
var codenameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Launchpad's API and Ubuntu's keyserver; RUNBOOK_LAUNCHPAD_API and
// RUNBOOK_KEYSERVER point them at a mirror (an air-gapped site, a test).
func launchpadAPI() string {
	return strings.TrimRight(modules.Or(os.Getenv("RUNBOOK_LAUNCHPAD_API"), "https://launchpad.net/api/1.0"), "/")
}

func keyserver() string {
	return strings.TrimRight(modules.Or(os.Getenv("RUNBOOK_KEYSERVER"), "https://keyserver.ubuntu.com"), "/")
}

// ppaSource is a PPA expanded as Ansible expands it: the deb line for the
// host's codename and the file it goes to.
type ppaSource struct {
	owner, name, codename, line string
}

// expandPPA reads the codename (the argument, else the host's) and builds
// the source line.
func (a *AptRepository) expandPPA(ctx context.Context, env *modules.Env) (*ppaSource, error) {
	m := ppaName.FindStringSubmatch(a.Repo)
	p := &ppaSource{owner: m[1], name: modules.Or(m[2], "ppa"), codename: a.Codename}
	if p.codename == "" {
		r, err := modules.RunOK(ctx, env.Host, ". /etc/os-release && echo \"${VERSION_CODENAME:-$UBUNTU_CODENAME}\"", "read the codename")
		if err != nil {
			return nil, err
		}
		if p.codename = strings.TrimSpace(r.Stdout); !codenameRE.MatchString(p.codename) {
			return nil, fmt.Errorf("apt_repository: %s: the host's /etc/os-release names no codename (%q); give codename", a.Repo, p.codename)
		}
	}
	p.line = fmt.Sprintf("deb http://ppa.launchpad.net/%s/%s/ubuntu %s main", p.owner, p.name, p.codename)
	return p, nil
}

// file is Ansible's name for a PPA's source file: ppa_OWNER_NAME_CODENAME.list.
func (p *ppaSource) file(filename string) string {
	if filename != "" {
		return filename + ".list"
	}
	clean := regexp.MustCompile(`[^a-zA-Z0-9]`).ReplaceAllString("ppa:"+p.owner+"/"+p.name+"_"+p.codename, " ")
	return strings.Join(strings.Fields(clean), "_") + ".list"
}

// addKey asks Launchpad (from the host, as Ansible's module does) for the
// PPA's signing key fingerprint and keeps that key from the keyserver as a
// keyring in /etc/apt/trusted.gpg.d, checked against the fingerprint.
func (p *ppaSource) addKey(ctx context.Context, env *modules.Env) error {
	api := fmt.Sprintf("%s/~%s/+archive/%s", launchpadAPI(), p.owner, p.name)
	cfg := curlConfig(api, map[string]string{"Accept": "application/json"}, "", "", false, 30)
	cfg.WriteString("location\nfail\nsilent\nshow-error\n")
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "curl -K -", Stdin: []byte(cfg.String())})
	if err != nil {
		return err
	}
	if r.RC != 0 {
		return fmt.Errorf("apt_repository: failed to fetch PPA information from %s: %s", api, strings.TrimSpace(r.Stderr))
	}
	var info struct {
		Fingerprint string `json:"signing_key_fingerprint"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil || !regexp.MustCompile(`^[0-9A-Fa-f]{16,40}$`).MatchString(info.Fingerprint) {
		return fmt.Errorf("apt_repository: %s gave no signing key fingerprint", api)
	}
	key := &AptKey{URL: keyserver() + "/pks/lookup?op=get&options=mr&search=0x" + info.Fingerprint, ID: info.Fingerprint,
		Keyring: fmt.Sprintf("/etc/apt/trusted.gpg.d/ppa_%s_%s.gpg", p.owner, p.name), State: "present"}
	res, err := key.Run(ctx, env)
	if err == nil {
		err = res.Do(ctx) // a step of apt_repository's own plan
	}
	if err != nil {
		return err
	}
	if res.Failed {
		return fmt.Errorf("apt_repository: the PPA's signing key: %s", res.Msg)
	}
	return nil
}
