// Package history is a drill's client history in Jepsen's shape (so Elle
// and Jepsen's checkers can read history.json) and the checker that judges
// it: acknowledged rows lost, indeterminate writes resolved, rows seen and
// then lost, linearizability of the primary path, stale reads elsewhere.
//
// The model is a grow-only set: clients add row ids (f "write") and read
// the whole set (f "read"). A read's value is every id it saw.
package history

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// Op is one client operation event. An operation is an "invoke" followed
// by its completion from the same process: "ok" (done), "fail" (certainly
// not done) or "info" (unknown: a timeout, a reset, a cancel). After an
// "info" the process is never used again (Jepsen's rule: its operation
// may still take effect at any later time).
type Op struct {
	Type    string `json:"type"` // invoke, ok, fail, info
	F       string `json:"f"`    // write or read
	Value   any    `json:"value"`
	Time    int64  `json:"time"` // ns, monotonic, from the history's start
	Process int    `json:"process"`
	// Node is the server that answered a read (inet_server_addr()).
	Node string `json:"node,omitempty"`
	// Path names how a read was routed: "primary" (pgpool's primary, never
	// load-balanced: the path the linearizability check covers),
	// "balanced" (pgpool's load balancing) or "final" (the judging read on
	// the primary after recovery).
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
}

// Read reads a history.json.
func Read(path string) ([]Op, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ops []Op
	if err := json.Unmarshal(b, &ops); err != nil {
		return nil, fmt.Errorf("%s: not a history (a JSON list of operations): %w", path, err)
	}
	return ops, nil
}

// call is one operation with its invocation and completion paired.
type call struct {
	f, typ, path, node string
	inv, ret           int64 // ret: -1 while it never completed (info, or cut off)
	add                int   // a write's id
	read               []int // a read's ids
}

// calls pairs each invoke with the next completion of its process. An
// invoke with no completion is treated as info (the history ended first).
func calls(ops []Op) ([]call, error) {
	open := map[int]int{} // process -> index in out
	var out []call
	for i, op := range ops {
		switch op.Type {
		case "invoke":
			if _, busy := open[op.Process]; busy {
				return nil, fmt.Errorf("op %d: process %d invokes while its last operation is open", i, op.Process)
			}
			c := call{f: op.F, typ: "info", path: op.Path, inv: op.Time, ret: -1}
			if op.F == "write" {
				id, ok := intValue(op.Value)
				if !ok {
					return nil, fmt.Errorf("op %d: a write's value must be an integer id, got %v", i, op.Value)
				}
				c.add = id
			}
			open[op.Process] = len(out)
			out = append(out, c)
		case "ok", "fail", "info":
			j, busy := open[op.Process]
			if !busy {
				return nil, fmt.Errorf("op %d: process %d completes an operation it never invoked", i, op.Process)
			}
			delete(open, op.Process)
			c := &out[j]
			c.typ, c.node = op.Type, op.Node
			if op.Path != "" {
				c.path = op.Path
			}
			if op.Type != "info" {
				c.ret = op.Time
			}
			if op.Type == "ok" && c.f == "read" {
				ids, ok := intList(op.Value)
				if !ok {
					return nil, fmt.Errorf("op %d: a read's value must be a list of ids, got %v", i, op.Value)
				}
				c.read = ids
			}
		default:
			return nil, fmt.Errorf("op %d: type %q is not invoke, ok, fail or info", i, op.Type)
		}
	}
	return out, nil
}

func intValue(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		return int(x), x == float64(int(x))
	case json.Number:
		n, err := x.Int64()
		return int(n), err == nil
	}
	return 0, false
}

func intList(v any) ([]int, bool) {
	switch x := v.(type) {
	case []int:
		return x, true
	case nil:
		return nil, true
	case []any:
		out := make([]int, 0, len(x))
		for _, e := range x {
			n, ok := intValue(e)
			if !ok {
				return nil, false
			}
			out = append(out, n)
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
