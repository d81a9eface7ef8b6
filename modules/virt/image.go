package virt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// Image fetches a base image to a path on the host: downloaded by runbook
// (resuming a partial download, with progress), written to the host, and
// verified by SHA-256 before it takes the final name. A file already there
// with the right checksum is left alone.
type Image struct {
	URL       string `yaml:"url" doc:"where to download the image from"`
	Src       string `yaml:"src" doc:"a local file on the host to use instead of a download"`
	Path      string `yaml:"path" doc:"where the image goes on the host"`
	SHA256    string `yaml:"sha256" doc:"the image's SHA-256 (hex)"`
	SHA256URL string `yaml:"sha256_url" doc:"a SHA256SUMS file listing the image by its file name"`
	Timeout   int    `yaml:"timeout" doc:"seconds without progress before giving up" default:"60"`
}

func init() {
	modules.Register(modules.Info{ID: "image", Summary: "Fetch a base image (URL with SHA-256 check, resumable, with progress) or take a local file; no download when the file with that checksum is there.",
		Example: "image:\n  url: https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img\n  sha256_url: https://cloud-images.ubuntu.com/noble/current/SHA256SUMS\n  path: /var/lib/libvirt/images/noble.img",
		New:     func() modules.Module { return &Image{Timeout: 60} }})
}

// Validate checks the arguments.
func (im *Image) Validate() error {
	if im.Path == "" {
		return errors.New("image: path is required")
	}
	if (im.URL == "") == (im.Src == "") {
		return errors.New("image: give url or src (one of them)")
	}
	if im.SHA256 != "" && len(im.SHA256) != 64 {
		return fmt.Errorf("image: sha256 must be 64 hex digits, got %d characters", len(im.SHA256))
	}
	return nil
}

// LocalHost is implemented by connections to the machine runbook runs on:
// files can be written directly instead of through commands.
type LocalHost interface {
	IsLocal() bool
}

// Run fetches and verifies.
func (im *Image) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: time.Duration(im.Timeout) * time.Second}}
	want := strings.ToLower(im.SHA256)
	if want == "" && im.SHA256URL != "" {
		sum, err := fetchChecksum(ctx, client, im.SHA256URL, path.Base(im.URL))
		if err != nil {
			return nil, err
		}
		want = sum
	}
	res := &modules.Result{Data: map[string]any{"path": im.Path, "sha256": want}}
	have, err := sha256On(ctx, env.Host, im.Path)
	if err != nil {
		return nil, err
	}
	if have != "" && (want == "" || have == want) {
		res.Data["sha256"] = have
		return res, nil
	}
	res.Changed = true
	if have != "" {
		res.Msg = fmt.Sprintf("replace %s (checksum %s, want %s)", im.Path, short(have), short(want))
	} else if im.Src != "" {
		res.Msg = "copy " + im.Src + " to " + im.Path
	} else {
		res.Msg = "download " + im.URL
	}
	res.Then(func(ctx context.Context) error {
		part := im.Path + ".part"
		if im.Src != "" {
			if _, err := modules.RunOK(ctx, env.Host, "cp -f "+modules.Quote(im.Src)+" "+modules.Quote(part), "copying the image"); err != nil {
				return err
			}
		} else if err := im.download(ctx, env, client, part); err != nil {
			return err
		}
		got, err := sha256On(ctx, env.Host, part)
		if err != nil {
			return err
		}
		if want != "" && got != want {
			modules.RunOK(ctx, env.Host, "rm -f "+modules.Quote(part), "removing a bad download")
			*res = *modules.Failf("image: checksum mismatch for %s: got %s, want %s (the file was removed)", im.Path, got, want)
			return nil
		}
		if _, err := modules.RunOK(ctx, env.Host, "mv -f "+modules.Quote(part)+" "+modules.Quote(im.Path), "moving the image into place"); err != nil {
			return err
		}
		res.Data["sha256"] = got
		return nil
	})
	return res, nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	if s == "" {
		return "(none)"
	}
	return s
}

// sha256On is the SHA-256 of a file on the host, or "" when it is missing.
func sha256On(ctx context.Context, h modules.Host, p string) (string, error) {
	r, err := modules.RunOK(ctx, h, "[ -e "+modules.Quote(p)+" ] || exit 0; sha256sum "+modules.Quote(p), "checksumming "+p)
	if err != nil {
		return "", err
	}
	f := strings.Fields(r.Stdout)
	if len(f) == 0 {
		return "", nil
	}
	return strings.ToLower(f[0]), nil
}

// fetchChecksum finds a file's checksum in a SHA256SUMS listing.
func fetchChecksum(ctx context.Context, c *http.Client, url, name string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("image: checksums %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("image: checksums %s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && strings.TrimPrefix(f[1], "*") == name {
			return strings.ToLower(f[0]), nil
		}
	}
	return "", fmt.Errorf("image: %s is not listed in %s", name, url)
}

// download appends to the partial file from where it stopped (an HTTP
// range request), writing directly on a local host and in chunks through
// the connection on a remote one.
func (im *Image) download(ctx context.Context, env *modules.Env, c *http.Client, part string) error {
	var offset int64
	r, err := modules.RunOK(ctx, env.Host, "stat -c %s "+modules.Quote(part)+" 2>/dev/null || echo 0", "reading a partial download")
	if err != nil {
		return err
	}
	fmt.Sscanf(strings.TrimSpace(r.Stdout), "%d", &offset)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, im.URL, nil)
	if err != nil {
		return err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("image: download %s: %w", im.URL, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent:
	case resp.StatusCode == http.StatusOK:
		offset = 0 // the server does not resume: start over
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return nil // the partial file is complete; the checksum decides
	default:
		return fmt.Errorf("image: download %s: %s", im.URL, resp.Status)
	}
	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = offset + resp.ContentLength
	}
	w, err := partWriter(ctx, env.Host, part, offset)
	if err != nil {
		return err
	}
	p := &progress{env: env, total: total, done: offset, start: time.Now(), from: offset}
	_, copyErr := io.Copy(w, io.TeeReader(&stallReader{r: resp.Body, timeout: time.Duration(im.Timeout) * time.Second}, p))
	closeErr := w.Close()
	p.report(true)
	if copyErr != nil {
		return fmt.Errorf("image: download %s stopped at %s: %w (run again to resume)", im.URL, mib(p.done), copyErr)
	}
	return closeErr
}

// partWriter writes the partial file: directly when the host is this
// machine, else 8 MiB at a time through the connection.
func partWriter(ctx context.Context, h modules.Host, part string, offset int64) (io.WriteCloser, error) {
	if l, ok := h.(LocalHost); ok && l.IsLocal() {
		flags := os.O_CREATE | os.O_WRONLY
		if offset > 0 {
			flags |= os.O_APPEND
		} else {
			flags |= os.O_TRUNC
		}
		return os.OpenFile(part, flags, 0o644)
	}
	if offset == 0 {
		if _, err := modules.RunOK(ctx, h, ": > "+modules.Quote(part), "starting the download"); err != nil {
			return nil, err
		}
	}
	return &remoteAppender{ctx: ctx, h: h, path: part}, nil
}

type remoteAppender struct {
	ctx  context.Context
	h    modules.Host
	path string
	buf  []byte
}

func (a *remoteAppender) Write(p []byte) (int, error) {
	a.buf = append(a.buf, p...)
	if len(a.buf) >= 8<<20 {
		return len(p), a.flush()
	}
	return len(p), nil
}

func (a *remoteAppender) flush() error {
	if len(a.buf) == 0 {
		return nil
	}
	r, err := a.h.Run(a.ctx, modules.Cmd{Script: "cat >> " + modules.Quote(a.path), Stdin: a.buf})
	_, err = modules.Must(r, err, "writing the image")
	a.buf = a.buf[:0]
	return err
}

func (a *remoteAppender) Close() error { return a.flush() }

// stallReader fails a read that makes no progress within the timeout.
type stallReader struct {
	r       io.Reader
	timeout time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		n, err := s.r.Read(p)
		ch <- result{n, err}
	}()
	select {
	case r := <-ch:
		return r.n, r.err
	case <-time.After(s.timeout):
		return 0, fmt.Errorf("no data for %s", s.timeout)
	}
}

// progress reports a download every few seconds.
type progress struct {
	env         *modules.Env
	total, done int64
	from        int64
	start, last time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	p.report(false)
	return len(b), nil
}

func (p *progress) report(final bool) {
	if p.env.Progress == nil || (!final && time.Since(p.last) < 3*time.Second) {
		return
	}
	p.last = time.Now()
	rate := float64(p.done-p.from) / time.Since(p.start).Seconds()
	msg := fmt.Sprintf("%s at %s/s", mib(p.done), mib(int64(rate)))
	if p.total > 0 {
		width := 30
		filled := int(float64(width) * float64(p.done) / float64(p.total))
		msg = fmt.Sprintf("[%s%s] %3d%% %s of %s at %s/s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
			100*p.done/p.total, mib(p.done), mib(p.total), mib(int64(rate)))
	}
	p.env.Progress(msg)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

var _ modules.Validator = (*Image)(nil)
