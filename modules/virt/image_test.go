package virt_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/virt"
)

// imageServer serves one image on loopback; with cutAt > 0 the first
// full download is cut after that many bytes (a dropped connection).
type imageServer struct {
	body   []byte
	cutAt  int
	mu     sync.Mutex
	ranges []string
	cut    bool
}

func (s *imageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "SHA256SUMS") {
		sum := sha256.Sum256(s.body)
		fmt.Fprintf(w, "%s *other.img\n%s *disk.img\n", strings.Repeat("0", 64), hex.EncodeToString(sum[:]))
		return
	}
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	cut := s.cutAt > 0 && !s.cut && r.Header.Get("Range") == ""
	s.cut = s.cut || cut
	s.mu.Unlock()
	if cut {
		w.Header().Set("Content-Length", fmt.Sprint(len(s.body)))
		w.WriteHeader(http.StatusOK)
		w.Write(s.body[:s.cutAt])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	http.ServeContent(w, r, "disk.img", time.Time{}, bytes.NewReader(s.body))
}

func newImageServer(t *testing.T, size, cutAt int) (*imageServer, *httptest.Server) {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	s := &imageServer{body: body, cutAt: cutAt}
	srv := httptest.NewServer(s) // 127.0.0.1
	t.Cleanup(srv.Close)
	return s, srv
}

// remoteOnly hides that the connection is local, so the module writes
// through commands, as it does over SSH.
type remoteOnly struct{ modules.Host }

func TestImageDownloadVerifyAndRerun(t *testing.T) {
	s, srv := newImageServer(t, 3<<20, 0)
	ctx := context.Background()
	dest := filepath.Join(t.TempDir(), "disk.img")
	im := &virt.Image{URL: srv.URL + "/disk.img", SHA256URL: srv.URL + "/SHA256SUMS", Path: dest, Timeout: 10}
	var progress []string
	e := env(t, true)
	if r, err := modules.Execute(ctx, im, e); err != nil || !r.Changed {
		t.Fatalf("check: %+v %v", r, err)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Fatal("check mode downloaded")
	}
	e = env(t, false)
	e.Progress = func(m string) { progress = append(progress, m) }
	if r, err := modules.Execute(ctx, im, e); err != nil || !r.Changed || r.Failed {
		t.Fatalf("download: %+v %v", r, err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, s.body) {
		t.Fatal("downloaded bytes differ")
	}
	if len(progress) == 0 || !strings.Contains(progress[len(progress)-1], "100%") {
		t.Errorf("progress: %q", progress)
	}
	n := len(s.ranges)
	if r, err := modules.Execute(ctx, im, env(t, false)); err != nil || r.Changed {
		t.Fatalf("re-run: %+v %v", r, err)
	}
	if len(s.ranges) != n {
		t.Error("re-run downloaded again")
	}
}

func TestImageResumesAnInterruptedDownload(t *testing.T) {
	for _, remote := range []bool{false, true} {
		t.Run(fmt.Sprintf("remote=%v", remote), func(t *testing.T) {
			s, srv := newImageServer(t, 2<<20, 700_000)
			ctx := context.Background()
			dest := filepath.Join(t.TempDir(), "disk.img")
			sum := sha256.Sum256(s.body)
			im := &virt.Image{URL: srv.URL + "/disk.img", SHA256: hex.EncodeToString(sum[:]), Path: dest, Timeout: 10}
			e := env(t, false)
			if remote {
				e.Host = remoteOnly{e.Host}
			}
			if _, err := modules.Execute(ctx, im, e); err == nil || !strings.Contains(err.Error(), "run again to resume") {
				t.Fatalf("cut download: %v", err)
			}
			if st, err := os.Stat(dest + ".part"); err != nil || st.Size() != 700_000 {
				t.Fatalf("partial file: %v %v", st, err)
			}
			if r, err := modules.Execute(ctx, im, e); err != nil || !r.Changed || r.Failed {
				t.Fatalf("resume: %+v %v", r, err)
			}
			if s.ranges[len(s.ranges)-1] != "bytes=700000-" {
				t.Errorf("requests: %q", s.ranges)
			}
			if got, _ := os.ReadFile(dest); !bytes.Equal(got, s.body) {
				t.Fatal("resumed file differs")
			}
		})
	}
}

func TestImageChecksumMismatchAndRefusal(t *testing.T) {
	_, srv := newImageServer(t, 100_000, 0)
	ctx := context.Background()
	dest := filepath.Join(t.TempDir(), "disk.img")
	im := &virt.Image{URL: srv.URL + "/disk.img", SHA256: strings.Repeat("ab", 32), Path: dest, Timeout: 10}
	r, err := modules.Execute(ctx, im, env(t, false))
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "checksum mismatch") {
		t.Fatalf("mismatch: %+v %v", r, err)
	}
	for _, p := range []string{dest, dest + ".part"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	// a port on loopback nobody listens on: the download is refused
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	im = &virt.Image{URL: "http://" + addr + "/disk.img", Path: dest, Timeout: 5}
	if _, err := modules.Execute(ctx, im, env(t, false)); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("refused download: %v", err)
	}
	// a name missing from SHA256SUMS
	im = &virt.Image{URL: srv.URL + "/nope.img", SHA256URL: srv.URL + "/SHA256SUMS", Path: dest, Timeout: 5}
	if _, err := modules.Execute(ctx, im, env(t, false)); err == nil || !strings.Contains(err.Error(), "not listed") {
		t.Fatalf("unlisted: %v", err)
	}
	// a local file instead of a download
	src := filepath.Join(t.TempDir(), "local.img")
	os.WriteFile(src, []byte("local image"), 0o644)
	im = &virt.Image{Src: src, Path: dest, Timeout: 5}
	if r, err := modules.Execute(ctx, im, env(t, false)); err != nil || !r.Changed {
		t.Fatalf("local: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, im, env(t, false)); err != nil || r.Changed {
		t.Fatalf("local re-run: %+v %v", r, err)
	}
}
