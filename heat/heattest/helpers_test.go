package heattest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logSink collects Options.Logf lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, sub) {
			return true
		}
	}
	return false
}

type fixture struct {
	t     *testing.T
	s     *Server
	clock *fakeClock
	logs  *logSink
}

func newFixture(t *testing.T, mutate ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: newFakeClock(), logs: &logSink{}}
	opts := Options{Now: f.clock.Now, Logf: f.logs.Logf}
	for _, m := range mutate {
		m(&opts)
	}
	f.s = NewServer(opts)
	t.Cleanup(f.s.Close)
	return f
}

type response struct {
	code   int
	header http.Header
	body   string
}

// jsonField decodes the body and walks a path of object keys.
func (r response) jsonField(t *testing.T, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body is not JSON (%v): %q", err, r.body)
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %q in %s", k, r.body)
		}
		v = m[k]
	}
	return v
}

// chunked hides the length so net/http sends Transfer-Encoding: chunked.
type chunked struct{ io.Reader }

// do sends a request; headers alternate name, value. A nil body sends none.
func do(t *testing.T, method, url string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// signal POSTs body as curl_cli would, with the handle's token.
func (f *fixture) signal(wc *WaitCondition, body string) response {
	f.t.Helper()
	return do(f.t, http.MethodPost, wc.Endpoint(), strings.NewReader(body),
		"X-Auth-Token", wc.Token(), "Content-Type", "application/json", "Accept", "application/json")
}

var requestIDPattern = regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func checkRequestID(t *testing.T, r response) {
	t.Helper()
	if id := r.header.Get("X-Openstack-Request-Id"); !requestIDPattern.MatchString(id) {
		t.Errorf("x-openstack-request-id = %q, want req-<uuid>", id)
	}
}

// faultJSON is the exact FaultWrapper body.
func faultJSON(code int, title, explanation, typ, message string) string {
	q := func(s string) string { return pyDumps(pyString(s)) }
	return fmt.Sprintf(`{"code": %d, "title": %s, "explanation": %s, "error": {"type": %s, "message": %s, "traceback": null}}`,
		code, q(title), q(explanation), q(typ), q(message))
}
