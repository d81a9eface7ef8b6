// Package profile writes CPU and peak-heap profiles of a run when
// RUNBOOK_PROFILE names a file prefix: PREFIX.cpu, and PREFIX.heap taken at
// the highest heap seen (sampled every 200 ms). For `go tool pprof`.
package profile

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/runbook-lab/runbook/internal/safefile"
)

// Start begins profiling when RUNBOOK_PROFILE is set; the returned stop
// writes the profiles. Without the variable both are no-ops.
func Start() (stop func()) {
	prefix := os.Getenv("RUNBOOK_PROFILE")
	if prefix == "" {
		return func() {}
	}
	cpu, err := safefile.Create(prefix+".cpu", 0o600)
	if err != nil {
		return func() {}
	}
	pprof.StartCPUProfile(cpu)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var peak uint64
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak {
				peak = ms.HeapInuse
				if f, err := safefile.Create(prefix+".heap", 0o600); err == nil {
					pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		pprof.StopCPUProfile()
		cpu.Close()
	}
}
