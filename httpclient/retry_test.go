package httpclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/httpclient"
)

// fast keeps retry tests quick: millisecond backoff, three retries.
var fast = httpclient.Options{RetryMax: 3, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, AttemptTimeout: 5 * time.Second}

func newClient(t *testing.T, o httpclient.Options) *retryablehttp.Client {
	t.Helper()
	c, err := httpclient.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reply is one scripted answer of a test server.
type reply struct {
	code       int
	retryAfter string
}

// script serves the replies in order (the last one repeats) and records
// the request bodies it got.
type script struct {
	mu      sync.Mutex
	replies []reply
	bodies  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.bodies)
	s.bodies = append(s.bodies, string(body))
	rep := s.replies[min(n, len(s.replies)-1)]
	s.mu.Unlock()
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	w.WriteHeader(rep.code)
	fmt.Fprintf(w, "answer %d: %d", n+1, rep.code)
}

func (s *script) hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// do sends one POST with a body and returns the response, the error and
// the attempts counted by WithAttemptCounter.
func do(t *testing.T, ctx context.Context, c *retryablehttp.Client, url string) (*http.Response, int, error) {
	t.Helper()
	var attempts int
	req, err := retryablehttp.NewRequestWithContext(httpclient.WithAttemptCounter(ctx, &attempts), http.MethodPost, url, []byte(`{"status":"SUCCESS"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, attempts, err
}

func codes(cs ...int) []reply {
	out := make([]reply, len(cs))
	for i, c := range cs {
		out[i] = reply{code: c}
	}
	return out
}

// What is retried and what is not; the final answer is always handed
// back as a response (the caller turns it into its own error).
func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name     string
		replies  []reply
		attempts int
		final    int
	}{
		{"503 503 200", codes(503, 503, 200), 3, 200},
		{"500 502 504 then 200", codes(500, 502, 504, 200), 4, 200},
		{"505 is a server error too", codes(505, 200), 2, 200},
		{"200 at once", codes(200), 1, 200},
		{"204", codes(204), 1, 204},
		{"400 not retried", codes(400, 200), 1, 400},
		{"401 not retried", codes(401, 200), 1, 401},
		{"403 not retried", codes(403, 200), 1, 403},
		{"404 not retried", codes(404, 200), 1, 404},
		{"409 not retried", codes(409, 200), 1, 409},
		{"501 not retried", codes(501, 200), 1, 501},
		{"429 with Retry-After 0", []reply{{429, "0"}, {200, ""}}, 2, 200},
		{"503 with Retry-After 0", []reply{{503, "0"}, {503, "0"}, {200, ""}}, 3, 200},
		{"exhausted: last 503 returned", codes(503), 4, 503},
		{"exhausted: last 429 returned", codes(429), 4, 429},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &script{replies: tc.replies}
			srv := httptest.NewServer(s)
			defer srv.Close()
			resp, attempts, err := do(t, context.Background(), newClient(t, fast), srv.URL)
			if err != nil {
				t.Fatalf("err = %v, want the final response", err)
			}
			if resp.StatusCode != tc.final || attempts != tc.attempts || s.hits() != tc.attempts {
				t.Errorf("status %d after %d attempts (%d hits), want %d after %d", resp.StatusCode, attempts, s.hits(), tc.final, tc.attempts)
			}
			// The body of the final answer is readable, so the caller can
			// quote what the server said.
			body, err := io.ReadAll(resp.Body)
			want := fmt.Sprintf("answer %d: %d", tc.attempts, tc.final)
			if tc.final == http.StatusNoContent {
				want = "" // a 204 has no body by definition (RFC 9110 §15.3.5)
			}
			if err != nil || string(body) != want {
				t.Errorf("body = %q, %v; want %q", body, err, want)
			}
			for i, b := range s.bodies {
				if b != `{"status":"SUCCESS"}` {
					t.Errorf("attempt %d sent body %q: retries must resend the same body", i+1, b)
				}
			}
		})
	}
}

// Nothing listening: every attempt fails to connect; the error says so
// and how often it tried.
func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/"
	l.Close()
	for _, tc := range []struct{ retryMax, attempts int }{{3, 4}, {-1, 1}, {1, 2}} {
		o := fast
		o.RetryMax = tc.retryMax
		resp, attempts, err := do(t, context.Background(), newClient(t, o), url)
		if resp != nil || err == nil {
			t.Fatalf("RetryMax %d: resp %v, err %v", tc.retryMax, resp, err)
		}
		if attempts != tc.attempts || !strings.Contains(err.Error(), fmt.Sprintf("giving up after %d attempt(s)", tc.attempts)) {
			t.Errorf("RetryMax %d: %d attempts, err %q; want %d", tc.retryMax, attempts, err, tc.attempts)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("err = %v does not wrap ECONNREFUSED", err)
		}
	}
}

// The request context bounds the whole exchange, backoff included: a
// long backoff is cut short, and a hanging attempt too.
func TestContextStopsRetrying(t *testing.T) {
	slow := httpclient.Options{RetryMax: 5, RetryWaitMin: 10 * time.Second, RetryWaitMax: 20 * time.Second}
	hang := make(chan struct{})
	defer close(hang)
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"during backoff", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }},
		{"during an attempt", func(w http.ResponseWriter, r *http.Request) {
			// The server notices a client that went away only once the
			// body is consumed (net/http's background read starts then).
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			start := time.Now()
			resp, attempts, err := do(t, ctx, newClient(t, slow), srv.URL)
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("returned after %v, want about 150ms", el)
			}
			if resp != nil || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("resp %v, err %v; want a deadline error", resp, err)
			}
			if attempts != 1 {
				t.Errorf("%d attempts, want 1", attempts)
			}
		})
	}
}

// AttemptTimeout bounds each attempt; a timed-out attempt is retried.
func TestAttemptTimeout(t *testing.T) {
	s := &script{replies: codes(200)}
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first { // the first attempt hangs until the client gives up on it
			_, _ = io.Copy(io.Discard, r.Body) // else the disconnect goes unseen
			<-r.Context().Done()
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer srv.Close()
	o := fast
	o.AttemptTimeout = 100 * time.Millisecond
	start := time.Now()
	resp, attempts, err := do(t, context.Background(), newClient(t, o), srv.URL)
	if err != nil || resp.StatusCode != 200 || attempts != 2 {
		t.Fatalf("resp %v, err %v, attempts %d; want 200 on the 2nd attempt", resp, err, attempts)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
}

// Retry-After beyond RetryWaitMax is capped, not obeyed for an hour.
func TestRetryAfterCappedEndToEnd(t *testing.T) {
	s := &script{replies: []reply{{429, "3600"}, {503, "99999999999999"}, {200, ""}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	o := fast
	o.RetryWaitMax = 50 * time.Millisecond
	start := time.Now()
	resp, attempts, err := do(t, context.Background(), newClient(t, o), srv.URL)
	if err != nil || resp.StatusCode != 200 || attempts != 3 {
		t.Fatalf("resp %v, err %v, attempts %d", resp, err, attempts)
	}
	if el := time.Since(start); el > 2*time.Second || el < 50*time.Millisecond {
		t.Errorf("took %v, want about 2×50ms", el)
	}
}

// A transport failure that comes with a response (a redirect loop) is an
// error: the response's body is already closed and useless.
func TestRedirectLoopIsAnError(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/again", http.StatusFound)
	}))
	defer srv.Close()
	var attempts int
	req, _ := retryablehttp.NewRequestWithContext(httpclient.WithAttemptCounter(context.Background(), &attempts), http.MethodGet, srv.URL, nil)
	resp, err := newClient(t, fast).Do(req)
	if err == nil {
		t.Fatalf("got %d with no error, want the redirect error", resp.StatusCode)
	}
	if resp != nil || !strings.Contains(err.Error(), "redirects") || attempts != 1 {
		t.Errorf("resp %v, err %v, attempts %d", resp, err, attempts)
	}
}

// Retries are logged through the given slog logger at debug level.
func TestLoggerAdapter(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	o := fast
	o.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(&script{replies: codes(503, 200)})
	defer srv.Close()
	if _, _, err := do(t, context.Background(), newClient(t, o), srv.URL); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "retrying request") || !strings.Contains(buf.String(), "status: 503") {
		t.Errorf("log = %q", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// With the loopback guard on (as in every test run), a client never
// resolves or dials anything off this machine.
func TestLoopbackGuard(t *testing.T) {
	t.Setenv(httpclient.LoopbackOnlyEnv, "1")
	srv := httptest.NewServer(&script{replies: codes(200)})
	defer srv.Close()
	c := newClient(t, httpclient.Options{RetryMax: -1})
	if resp, _, err := do(t, context.Background(), c, srv.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("loopback: %v, %v", resp, err)
	}
	for _, u := range []string{"http://192.0.2.1:9/", "http://magnum.example.com:9511/v1", "http://169.254.169.254/latest"} {
		start := time.Now()
		_, attempts, err := do(t, context.Background(), c, u)
		if err == nil || !strings.Contains(err.Error(), "refusing to connect") || attempts != 1 || time.Since(start) > time.Second {
			t.Errorf("%s: err %v after %d attempts in %v; want an immediate refusal", u, err, attempts, time.Since(start))
		}
	}
}
