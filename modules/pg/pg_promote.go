package pg

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// PgPromote promotes a standby and waits until it accepts writes.
type PgPromote struct {
	PgConn  `yaml:",inline"`
	Timeout int `yaml:"timeout" doc:"seconds to wait for the promotion" default:"60"`
}

func init() {
	modules.Register(modules.Info{ID: "pg_promote", Summary: "Promote a standby and wait until it accepts writes; no-op on a primary.",
		Example: "pg_promote: {}", New: func() modules.Module { return &PgPromote{Timeout: 60} }})
}

// Run promotes.
func (p *PgPromote) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	rows, err := Query(ctx, env.Host, p.PgConn, "SELECT pg_is_in_recovery()", nil)
	if err != nil {
		return nil, err
	}
	if rows.One() == "f" {
		return &modules.Result{Msg: "already a primary"}, nil
	}
	res := &modules.Result{Changed: true, Msg: "would promote to primary"}
	res.Then(func(ctx context.Context) error {
		res.Msg = "promoted to primary"
		begin := time.Now()
		if _, err := QueryNames(ctx, env.Host, p.PgConn, "SELECT pg_promote(true, :'t'::int)", map[string]string{"t": strconv.Itoa(p.Timeout)}); err != nil {
			return err
		}
		for {
			rows, err := Query(ctx, env.Host, p.PgConn, "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::bool", nil)
			if err == nil && rows.One() == "f" {
				break
			}
			if time.Since(begin) > time.Duration(p.Timeout)*time.Second {
				*res = *modules.Failf("%s did not accept writes within %ds after pg_promote", env.Host.Name(), p.Timeout)
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		res.Data = map[string]any{"seconds": fmt.Sprintf("%.2f", time.Since(begin).Seconds())}
		return nil
	})
	return res, nil
}
