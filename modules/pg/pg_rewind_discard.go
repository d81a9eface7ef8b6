package pg

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Discarded is what a rewind throws away: the WAL the former primary wrote
// on its old timeline after the point where the new primary's history
// left it (split-brain accounting: every commit in it was accepted by the
// demoted node and is gone once it follows the new primary).
type Discarded struct {
	DivergedAt   string // LSN where the histories part
	Timeline     int    // the old timeline
	Bytes        uint64 // WAL after the divergence
	Transactions int    // commit records in it
}

// discardScript finds where the histories part (the source's timeline
// history names the switch from the target's timeline; pg_rewind's dry run
// cannot tell for a target that crashed) and sums the target's WAL from
// there with pg_waldump: "diverged LSN TLI", then "last LSN TOTLEN
// COMMITS" (nothing when it cannot tell). bin is pg_rewind as the shell
// spells it; its siblings do the work.
func discardScript(bin, dataDir, source string) string {
	dir := `"$(dirname ` + bin + `)"`
	return `tli=$(` + dir + `/pg_controldata -D ` + modules.Quote(dataDir) + ` | sed -n "s/^Latest checkpoint's TimeLineID: *//p")
hist=$(PGCONNECT_TIMEOUT=10 timeout 30 ` + dir + `/psql ` + modules.Quote(source) + ` -XAtqc "SELECT pg_read_file('pg_wal/' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) || '.history')" 2>/dev/null) || exit 0
at=$(printf '%s\n' "$hist" | awk -v t="$tli" '$1 == t { print $2 }')
[ -n "$at" ] || exit 0
echo "diverged $at $tli"
` + dir + `/pg_waldump -p ` + modules.Quote(dataDir+"/pg_wal") + ` -t "$tli" -s "$at" 2>/dev/null | awk '
  /lsn: / {
    n = split($0, f, ",")
    for (i = 1; i <= n; i++) {
      if (f[i] ~ /lsn: /) { sub(/.*lsn: /, "", f[i]); last = f[i] }
      if (f[i] ~ /rec\/tot/) { sub(/.*\//, "", f[i]); gsub(/ /, "", f[i]); tot = f[i] }
    }
    if ($0 ~ /rmgr: Transaction/ && $0 ~ /desc: COMMIT/) commits++
  }
  END { if (last != "") print "last", last, tot, commits + 0 }'`
}

// parseDiscard reads discardScript's output; ok is false when it told
// nothing.
func parseDiscard(out string) (d Discarded, ok bool) {
	var last, tot uint64
	var haveLast bool
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 3 && f[0] == "diverged":
			d.DivergedAt = f[1]
			d.Timeline, _ = strconv.Atoi(f[2])
		case len(f) == 4 && f[0] == "last":
			l, err1 := parseLSN(f[1])
			t, err2 := strconv.ParseUint(f[2], 10, 64)
			c, err3 := strconv.Atoi(f[3])
			if err1 == nil && err2 == nil && err3 == nil {
				last, tot, haveLast, d.Transactions = l, t, true, c
			}
		}
	}
	from, err := parseLSN(d.DivergedAt)
	if err != nil {
		return Discarded{}, false
	}
	if haveLast && last+tot > from {
		d.Bytes = last + tot - from
	}
	return d, true
}

// parseLSN reads PostgreSQL's X/Y form of a WAL location.
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, err
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, err
	}
	return h<<32 | l, nil
}

// discarded measures what the rewind will throw away, before it runs
// (after it, the old timeline's WAL is gone).
func (p *PgRewind) discarded(ctx context.Context, h modules.Host, bin string) (Discarded, bool) {
	r, err := h.Run(ctx, modules.Cmd{Script: AsUser(p.OSUser, discardScript(bin, p.DataDir, p.source()))})
	if err != nil || r.RC != 0 {
		return Discarded{}, false
	}
	return parseDiscard(r.Stdout)
}
