package templates

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The disk guard keeps the node's WAL archive to its newest segments (a
// full archive on the lab's small data disk had the guard stop a
// just-promoted primary): older segments go, history files and the newest
// archive_keep_segments stay. The real script, for a few seconds.
func TestDiskguardPrunesTheArchive(t *testing.T) {
	dir := t.TempDir()
	data, archive := filepath.Join(dir, "data"), filepath.Join(dir, "archive")
	os.MkdirAll(data, 0o700)
	os.MkdirAll(archive, 0o700)
	var names []string
	for tl := 1; tl <= 2; tl++ {
		for seg := 1; seg <= 5; seg++ {
			n := fmt.Sprintf("%08X%08X%08X", tl, 0, seg)
			names = append(names, n)
			os.WriteFile(filepath.Join(archive, n), []byte("wal"), 0o600)
		}
	}
	os.WriteFile(filepath.Join(archive, "00000002.history"), []byte("1\t0/1\n"), 0o600)
	// pg_wal: a segment of each of four timelines left as .partial by
	// promotions, the current segment, a history file
	wal := filepath.Join(data, "pg_wal")
	os.MkdirAll(filepath.Join(wal, "archive_status"), 0o700)
	var walNames []string
	for tl := 1; tl <= 4; tl++ {
		n := fmt.Sprintf("%08X%08X%08X.partial", tl, 0, tl+2)
		walNames = append(walNames, n)
		os.WriteFile(filepath.Join(wal, n), []byte("wal"), 0o600)
		os.WriteFile(filepath.Join(wal, "archive_status", n+".done"), nil, 0o600)
	}
	for _, n := range []string{"000000050000000000000007", "00000005.history"} {
		walNames = append(walNames, n)
		os.WriteFile(filepath.Join(wal, n), []byte("wal"), 0o600)
	}
	text, _ := fs.ReadFile(Files, "files/pg-diskguard.sh.tmpl")
	script, err := Render("pg-diskguard.sh", string(text), map[string]any{"inventory_hostname": "db1", "pg_data": data,
		"pg_unit": "postgresql@15-main", "diskguard_min_free_kib": 1, "archive_dir": archive, "archive_keep_segments": 4})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "guard.sh")
	os.WriteFile(path, []byte(script), 0o700)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	exec.CommandContext(ctx, "sh", path).Run()
	var left []string
	entries, _ := os.ReadDir(archive)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	sort.Strings(left)
	want := append(append([]string{}, names[6:]...), "00000002.history")
	sort.Strings(want)
	if strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("archive after the guard's first round: %v, want %v", left, want)
	}
	left = nil
	entries, _ = os.ReadDir(wal)
	for _, e := range entries {
		if !e.IsDir() {
			left = append(left, e.Name())
		}
	}
	sort.Strings(left)
	want = append([]string{}, walNames[2:]...) // the two oldest .partial files go
	sort.Strings(want)
	if strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("pg_wal after the guard's first round: %v, want %v", left, want)
	}
	if st, _ := os.ReadDir(filepath.Join(wal, "archive_status")); len(st) != 2 {
		t.Errorf("archive_status keeps %d entries, want the newest 2", len(st))
	}
}
