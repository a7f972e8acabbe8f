package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/ledger"
)

// SIGTERM in the middle of a step (here make-cert, waiting on a Magnum that
// never answers) cancels the step, records it as failed "interrupted", and
// still reports FAILURE to Heat: the node does not wait out Heat's timeout.
func TestSIGTERMReportsFailure(t *testing.T) {
	_, wc := emulator(t)
	hit := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case hit <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer hang.Close()
	n := newNode(t, example(t, "master.heat-params", map[string]string{
		"WAIT_CURL": wc.CurlCLI(), "MAGNUM_URL": hang.URL + "/v1", "AUTH_URL": hang.URL + "/v3"}))

	done := make(chan result, 1)
	go func() { done <- n.cli("run") }()
	select {
	case <-hit: // run() has its signal handler in place by now
	case r := <-done:
		t.Fatalf("run ended before make-cert called Magnum: %+v", r)
	case <-time.After(30 * time.Second):
		t.Fatal("make-cert never called Magnum")
	}
	start := time.Now()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after SIGTERM")
	}
	if took := time.Since(start); r.code != exitFailed || took > 5*time.Second {
		t.Fatalf("exit %d after %v: %s", r.code, took, r.stderr)
	}
	l, err := (&ledger.Store{FS: hostfs.New(n.root), Path: "/var/lib/heatstrap/status.json"}).Load()
	if err != nil {
		t.Fatal(err)
	}
	if s := l.Lookup("make-cert"); s.State != ledger.Failed || !strings.Contains(s.Error, "interrupted by signal terminated") {
		t.Fatalf("make-cert: %+v", s)
	}
	status, reason := waitStatus(t, wc)
	if status != "FAILED" || !strings.Contains(reason, "step make-cert failed: interrupted by signal terminated") {
		t.Fatalf("wait condition %s: %s", status, reason)
	}
}
