package pg

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/runbook-lab/runbook/modules"
)

// PgReplication reads a node's replication state (read-only; runs in check
// mode too): role, upstream, timeline, and the standbys it feeds.
type PgReplication struct {
	PgConn `yaml:",inline"`
}

func init() {
	modules.Register(modules.Info{ID: "pg_replication", Summary: "Facts about a node's replication: role, upstream, timeline, pg_stat_replication rows (application_name, state, sync_state, lag).",
		Example: "pg_replication: {}\nregister: repl\n# repl.role, repl.upstream_host, repl.standbys[0].sync_state", New: func() modules.Module { return &PgReplication{} }})
}

// nodeQuery's timeline is the one the node writes or replays now: the last
// checkpoint's lags a promotion until the next checkpoint, which once made
// a fresh primary look one timeline behind its standbys.
const nodeQuery = `SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END AS role,
 CASE WHEN pg_is_in_recovery()
  THEN greatest((SELECT received_tli FROM pg_stat_wal_receiver WHERE status = 'streaming'),
                nullif((SELECT min_recovery_end_timeline FROM pg_control_recovery()), 0),
                (SELECT timeline_id FROM pg_control_checkpoint()))
  ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline,
 current_setting('synchronous_standby_names') AS synchronous_standby_names,
 coalesce((SELECT sender_host FROM pg_stat_wal_receiver), '') AS upstream_host,
 coalesce((SELECT sender_port::text FROM pg_stat_wal_receiver), '') AS upstream_port,
 coalesce((SELECT status FROM pg_stat_wal_receiver), '') AS receiver_status,
 coalesce(current_setting('primary_conninfo', true), '') AS primary_conninfo,
 pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery()
  THEN greatest(coalesce(pg_last_wal_receive_lsn(), '0/0'), coalesce(pg_last_wal_replay_lsn(), '0/0'))
  ELSE pg_current_wal_lsn() END, '0/0')::bigint AS wal_position`

const standbysQuery = `SELECT application_name, coalesce(client_addr::text, 'local') AS client_addr, state, sync_state,
 coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, replay_lsn), 0)::bigint AS lag_bytes,
 coalesce(extract(epoch FROM replay_lag), 0)::float8 AS replay_lag_seconds
FROM pg_stat_replication ORDER BY application_name`

// Run reads the state.
func (p *PgReplication) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	// one psql call, the standbys as JSON beside the node's row: each
	// call costs a connection, seconds on an emulated guest
	node, err := Query(ctx, env.Host, p.PgConn, nodeQuery+",\n (SELECT coalesce(json_agg(s ORDER BY s.application_name), '[]') FROM ("+standbysQuery+") s) AS standbys_json", nil)
	if err != nil {
		return nil, err
	}
	if len(node.Rows) != 1 {
		return nil, fmt.Errorf("pg_replication: the node query returned %d rows, want 1", len(node.Rows))
	}
	var standbys []struct {
		ApplicationName  string  `json:"application_name"`
		ClientAddr       string  `json:"client_addr"`
		State            string  `json:"state"`
		SyncState        string  `json:"sync_state"`
		LagBytes         int64   `json:"lag_bytes"`
		ReplayLagSeconds float64 `json:"replay_lag_seconds"`
	}
	if err := json.Unmarshal([]byte(node.Rows[0]["standbys_json"]), &standbys); err != nil {
		return nil, fmt.Errorf("pg_replication: the standbys: %w", err)
	}
	data := map[string]any{}
	for k, v := range node.Rows[0] {
		if k != "standbys_json" {
			data[k] = v
		}
	}
	conf := CurrentUpstream("primary_conninfo = '" + node.Rows[0]["primary_conninfo"] + "'")
	data["upstream_application_name"] = conf["application_name"]
	// the upstream it is configured to stream from: upstream_host (the
	// walreceiver's) is empty while that upstream is dead, exactly when a
	// recovery must know which standbys streamed from the failed primary
	data["configured_upstream_host"] = conf["host"]
	delete(data, "primary_conninfo") // may name a passfile; never a password, but not needed
	list := make([]any, 0, len(standbys))
	byName := map[string]any{}
	for _, r := range standbys {
		m := map[string]any{"application_name": r.ApplicationName, "client_addr": r.ClientAddr, "state": r.State,
			"sync_state": r.SyncState, "lag_bytes": r.LagBytes, "replay_lag_seconds": r.ReplayLagSeconds}
		list = append(list, m)
		byName[r.ApplicationName] = m
	}
	data["standbys"] = list
	data["standby"] = byName
	return &modules.Result{Data: data, Msg: fmt.Sprintf("%s, timeline %s, %d standbys", data["role"], data["timeline"], len(list))}, nil
}
