package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Cron keeps one named job in a user's crontab or in a cron file (Ansible's
// cron: the job is marked by a "#Ansible: NAME" line above it).
type Cron struct {
	Name        string `yaml:"name" doc:"the job's name (its marker line)"`
	Job         string `yaml:"job" aliases:"value" doc:"the command"`
	State       string `yaml:"state" doc:"present or absent" default:"present"`
	User        string `yaml:"user" doc:"whose crontab (default: the connecting user); with cron_file, required: who the job runs as"`
	CronFile    string `yaml:"cron_file" doc:"a file in /etc/cron.d (a name) or a path, instead of a crontab"`
	Minute      string `yaml:"minute" doc:"minute field" default:"*"`
	Hour        string `yaml:"hour" doc:"hour field" default:"*"`
	Day         string `yaml:"day" aliases:"dom" doc:"day of month field" default:"*"`
	Month       string `yaml:"month" doc:"month field" default:"*"`
	Weekday     string `yaml:"weekday" aliases:"dow" doc:"day of week field" default:"*"`
	SpecialTime string `yaml:"special_time" doc:"reboot, yearly, annually, monthly, weekly, daily or hourly instead of the fields"`
	Disabled    bool   `yaml:"disabled" doc:"keep the job commented out"`
	Backup      bool   `yaml:"backup" doc:"cron_file: keep the old file as PATH.PID.DATE@TIME~"`
}

func init() {
	modules.Register(modules.Info{ID: "cron", Summary: "Keep one named job in a crontab or an /etc/cron.d file (Ansible's marker lines).",
		Example: "cron:\n  name: vacuum\n  user: postgres\n  hour: \"3\"\n  minute: \"0\"\n  job: vacuumdb --all --analyze", New: func() modules.Module { return &Cron{} }})
}

// Validate checks the arguments.
func (c *Cron) Validate() error {
	if c.Name == "" {
		return errors.New("cron: name is required")
	}
	if strings.Contains(c.Name, "\n") || strings.Contains(c.Job, "\n") {
		return errors.New("cron: name and job are one line each")
	}
	if c.State != "present" && c.State != "absent" {
		return fmt.Errorf("cron: state must be present or absent, got %q", c.State)
	}
	if c.State == "present" && c.Job == "" {
		return errors.New("cron: job is required with state present")
	}
	if c.CronFile != "" && c.User == "" && c.State == "present" {
		return errors.New("cron: cron_file needs user (who the job runs as), as in Ansible")
	}
	switch c.SpecialTime {
	case "", "reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly":
	default:
		return fmt.Errorf("cron: special_time must be reboot, yearly, annually, monthly, weekly, daily or hourly, got %q", c.SpecialTime)
	}
	return nil
}

// Line is the job's crontab line.
func (c *Cron) Line() string {
	var b strings.Builder
	if c.Disabled {
		b.WriteString("#")
	}
	if c.SpecialTime != "" {
		b.WriteString("@" + c.SpecialTime + " ")
	} else {
		b.WriteString(strings.Join([]string{c.Minute, c.Hour, c.Day, c.Month, c.Weekday}, " ") + " ")
	}
	if c.CronFile != "" {
		b.WriteString(c.User + " ")
	}
	b.WriteString(c.Job)
	return b.String()
}

// Edit puts the job (marker and line) in a crontab's text, replacing the
// job of that name, or removes it.
func (c *Cron) Edit(text string) string {
	marker := "#Ansible: " + c.Name
	ls := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		ls = nil
	}
	var out []string
	found := false
	for i := 0; i < len(ls); i++ {
		if ls[i] == marker {
			if c.State == "present" && !found {
				out = append(out, marker, c.Line())
			}
			found = true
			i++ // the job line under the marker
			continue
		}
		out = append(out, ls[i])
	}
	if !found && c.State == "present" {
		out = append(out, marker, c.Line())
	}
	return joinLines(out)
}

// Run reads the crontab (or file), edits it and writes it back.
func (c *Cron) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	res := &modules.Result{Data: map[string]any{"name": c.Name, "state": c.State}}
	if c.CronFile != "" {
		path := c.CronFile
		if !strings.Contains(path, "/") {
			path = "/etc/cron.d/" + path
		}
		st, err := modules.Stat(ctx, env.Host, path, true)
		if err != nil {
			return nil, err
		}
		if !st.Exists && c.State == "absent" {
			return res, nil
		}
		return modules.PutFile(ctx, env, modules.FileSpec{Path: path, Data: []byte(c.Edit(string(st.Content))), Backup: c.Backup})
	}
	u := ""
	if c.User != "" {
		u = " -u " + modules.Quote(c.User)
	}
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "crontab -l" + u + " 2>/dev/null || true"})
	if err != nil {
		return nil, err
	}
	before := r.Stdout
	after := c.Edit(before)
	if after == before {
		return res, nil
	}
	res.Changed = true
	if env.Diff {
		res.Diffs = []modules.Diff{{Path: "crontab" + u, Before: before, After: after}}
	}
	res.Then(func(ctx context.Context) error {
		r, err = env.Host.Run(ctx, modules.Cmd{Script: "crontab" + u + " -", Stdin: []byte(after)})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("crontab: %s", strings.TrimSpace(r.Stderr))
		}
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*Cron)(nil)
