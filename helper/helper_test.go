package helper

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/httpclient"
)

// newRoot is a --root tree for one test.
func newRoot(t *testing.T) (*hostfs.FS, string) {
	t.Helper()
	dir := t.TempDir()
	return hostfs.New(dir), dir
}

// put writes a file of the target tree (test setup, not via hostfs).
func put(t *testing.T, root, p, data string) {
	t.Helper()
	hp := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// logSink collects log output for assertions and echoes it to t.Log.
type logSink struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t.Log(strings.TrimSpace(string(p)))
	return s.b.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(t *testing.T) (*slog.Logger, *logSink) {
	s := &logSink{t: t}
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelInfo})), s
}

// fastHTTP keeps httpclient's own retries (object creation) quick in tests.
var fastHTTP = httpclient.Options{RetryMax: 3, RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 50 * time.Millisecond, AttemptTimeout: 5 * time.Second}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func loopbackURL(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

func mustContain(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got nil", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q\n  does not contain %q", err, s)
		}
	}
}
