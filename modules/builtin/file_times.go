package builtin

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// defaultTimeFormat is Ansible's modification_time_format and
// access_time_format default (touch(1)'s -t form).
const defaultTimeFormat = "%Y%m%d%H%M.%S"

// fileTime is one timestamp the file module sets: value is now or a
// local time as "YYYY-MM-DD HH:MM:SS", which date(1) on the host reads in
// the host's own time zone (Ansible's module uses the host's mktime).
type fileTime struct {
	flag, name, value string
	stat              string // stat(1)'s format for the current value
}

// parseFileTime reads one of the module's time arguments; an empty value is
// Ansible's default: now for state touch, else preserve.
func parseFileTime(flag, name, value, format, state string) (fileTime, error) {
	ft := fileTime{flag: flag, name: name, value: value, stat: map[string]string{"-m": "%Y", "-a": "%X"}[flag]}
	switch value {
	case "":
		ft.value = "preserve"
		if state == "touch" {
			ft.value = "now"
		}
		return ft, nil
	case "preserve", "now":
		return ft, nil
	}
	if format == "" {
		format = defaultTimeFormat
	}
	t, err := strptime(value, format)
	if err != nil {
		return ft, fmt.Errorf("%s %q does not match %s_format %q: %v", name, value, name, format, err)
	}
	ft.value = t
	return ft, nil
}

// timeSteps are the shell steps that set the wanted timestamps, and the
// diff's words for them; an explicit time already in place is no step.
func (f *File) timeSteps(ctx context.Context, env *modules.Env, exists bool) (steps []string, before, after string, err error) {
	p := modules.Quote(f.Path)
	for _, t := range f.times {
		if t.value == "now" {
			steps = append(steps, "touch -c "+t.flag+" -- "+p)
			before, after = before+" "+t.name+" (old)", after+" "+t.name+" now"
			continue
		}
		d := modules.Quote(t.value)
		if exists {
			r, err := modules.RunOK(ctx, env.Host, "date -d "+d+" +%s && stat -c "+t.stat+" -- "+p, "file")
			if err != nil {
				return nil, "", "", fmt.Errorf("%s: %s: %w", f.Path, t.name, err)
			}
			if got := strings.Fields(r.Stdout); len(got) == 2 && got[0] == got[1] {
				continue
			}
		}
		steps = append(steps, "touch -c "+t.flag+" -d \"@$(date -d "+d+" +%s)\" -- "+p)
		before, after = before+" "+t.name+" (old)", after+" "+t.name+" "+t.value
	}
	return steps, before, after, nil
}

// strptime reads value by a strftime format, as Python's strptime, for the
// directives time formats use (%Y %y %m %d %H %I %p %M %S %b %B %%), and
// gives the time as "YYYY-MM-DD HH:MM:SS".
func strptime(value, format string) (string, error) {
	year, month, day, hour, minute, second := 1900, 1, 1, 0, 0, 0
	pm, twelve := -1, false
	v := value
	num := func(max int) (int, error) {
		n := 0
		for n < max && n < len(v) && v[n] >= '0' && v[n] <= '9' {
			n++
		}
		if n == 0 {
			return 0, fmt.Errorf("a number expected at %q", v)
		}
		x, _ := strconv.Atoi(v[:n])
		v = v[n:]
		return x, nil
	}
	months := []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			if len(v) == 0 || v[0] != c {
				return "", fmt.Errorf("%q expected at %q", string(c), v)
			}
			v = v[1:]
			continue
		}
		if i++; i == len(format) {
			return "", fmt.Errorf("the format ends in %%")
		}
		var err error
		switch format[i] {
		case 'Y':
			year, err = num(4)
		case 'y':
			if year, err = num(2); err == nil {
				year += map[bool]int{true: 2000, false: 1900}[year < 69]
			}
		case 'm':
			month, err = num(2)
		case 'd':
			day, err = num(2)
		case 'H':
			hour, err = num(2)
		case 'I':
			hour, err = num(2)
			twelve = true
		case 'M':
			minute, err = num(2)
		case 'S':
			second, err = num(2)
		case 'p':
			switch l := strings.ToUpper(v[:min(2, len(v))]); l {
			case "AM", "PM":
				pm, v = map[string]int{"AM": 0, "PM": 1}[l], v[2:]
			default:
				err = fmt.Errorf("AM or PM expected at %q", v)
			}
		case 'b', 'B':
			month = 0
			for k, name := range months {
				for _, n := range []string{name, name[:3]} {
					if month == 0 && len(v) >= len(n) && strings.EqualFold(v[:len(n)], n) {
						month, v = k+1, v[len(n):]
					}
				}
			}
			if month == 0 {
				err = fmt.Errorf("a month name expected at %q", v)
			}
		case '%':
			if len(v) == 0 || v[0] != '%' {
				err = fmt.Errorf("%% expected at %q", v)
			} else {
				v = v[1:]
			}
		default:
			err = fmt.Errorf("directive %%%c is not supported", format[i])
		}
		if err != nil {
			return "", err
		}
	}
	if v != "" {
		return "", fmt.Errorf("unconverted data remains: %q", v)
	}
	if twelve || pm >= 0 {
		if hour < 1 || hour > 12 {
			return "", fmt.Errorf("hour %d is not on a 12-hour clock", hour)
		}
		hour %= 12
		if pm == 1 {
			hour += 12
		}
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 61 {
		return "", fmt.Errorf("out of range")
	}
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", year, month, day, hour, minute, min(second, 59)), nil
}
