package shellwords

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	cases := map[string][]string{
		`a b  c`:                  {"a", "b", "c"},
		`k='two words' x="a 'b'"`: {"k=two words", `x=a 'b'`},
		`x\ y 'a\b'`:              {"x y", `a\b`},
		``:                        nil,
		`"" x`:                    {"", "x"},
	}
	for in, want := range cases {
		got, err := Split(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Split(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Split(`"open`); err == nil {
		t.Error("unterminated quote accepted")
	}
}

// The oracle: Python's shlex.split, which Ansible uses. Every case is
// compared with what python3 prints for it (skipped without python3).
func TestSplitMatchesPythonShlex(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to compare with")
	}
	cases := []string{
		`printf "a\nb"`, `echo "a\$b" '\$c' \$d`, `a\ b "c\"d" 'e\'`, `x "y\\z" w\\v`,
		`trailing\`, `"open`, `'open`, `"esc at end\`, `a"b c"d`, `'' "" x`, `a#b c # d`,
		"tab\tsep\nnewline", `k=v k2='a b' k3="c d" k4=e\ f`, `"a""b" 'c''d'`, `\"x\" \'y\'`,
		`"\a\b\c\\\""`, `mode=0644 lst=[1,2]`, `"#not comment" #comment`, `ü "ñ é" 'ø'`,
		`host1 ansible_host=10.0.0.1 # the db`, `a\` + "\n" + `b`, `"a` + "\n" + `b"`,
	}
	script := `import json, shlex, sys
out = []
for s in json.load(sys.stdin):
    row = []
    for comments in (False, True):
        try:
            row.append(shlex.split(s, comments=comments))
        except ValueError:
            row.append(None)
    out.append(row)
print(json.dumps(out))`
	in, _ := json.Marshal(cases)
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	raw, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want [][2]*[]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for i, s := range cases {
		for j, split := range []func(string) ([]string, error){Split, SplitComments} {
			got, err := split(s)
			w := want[i][j]
			switch {
			case w == nil && err == nil:
				t.Errorf("%d %q: shlex refuses it, we gave %q", j, s, got)
			case w != nil && err != nil:
				t.Errorf("%d %q: shlex gives %q, we refused: %v", j, s, *w, err)
			case w != nil && !(len(*w) == 0 && len(got) == 0) && !reflect.DeepEqual(got, *w):
				t.Errorf("%d %q: got %q, shlex %q", j, s, got, *w)
			}
		}
	}
}
