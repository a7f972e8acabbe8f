package heat_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/httpclient"
)

// These tests use plain httptest servers for what the Heat emulator does
// not model: TLS, redirects, arbitrary status codes, dead ports.

// logBuffer collects slog output at debug level, safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testOptions retries fast and logs everything into the returned buffer,
// which is checked for the token when the test ends.
func testOptions(t *testing.T, token string) (httpclient.Options, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), token) {
			t.Errorf("log output leaks the token:\n%s", logs)
		}
	})
	return httpclient.Options{
		RetryMax:       2,
		RetryWaitMin:   time.Millisecond,
		RetryWaitMax:   5 * time.Millisecond,
		AttemptTimeout: 5 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, logs
}

var okSignal = heat.Signal{Status: heat.Success, Reason: "node ready", Data: "ok", ID: "node-0"}

// heatError asserts err is a *heat.Error and that it does not leak the token.
func heatError(t *testing.T, err error) *heat.Error {
	t.Helper()
	var he *heat.Error
	if !errors.As(err, &he) {
		t.Fatalf("err = %T %v, want *heat.Error", err, err)
	}
	t.Logf("error: %v", he)
	if strings.Contains(he.Error(), canary) {
		t.Fatalf("error leaks the token: %s", he)
	}
	return he
}

func newClient(t *testing.T, ep heat.Endpoint, opts httpclient.Options) *heat.Client {
	t.Helper()
	c, err := heat.NewClient(ep, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSendTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "null")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	tests := []struct {
		name         string
		epInsecure   bool
		optsInsecure bool
		wantErr      bool
	}{
		{name: "verified by default", wantErr: true},
		{name: "curl_cli --insecure", epInsecure: true},
		{name: "operator insecure option", optsInsecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, logs := testOptions(t, canary)
			opts.Insecure = tt.optsInsecure
			ep := heat.Endpoint{URL: srv.URL + "/v1/p/stacks/s/i/resources/h/signal", Token: config.NewSecret(canary), Insecure: tt.epInsecure}
			attempts, err := newClient(t, ep, opts).Send(context.Background(), okSignal)
			warned := strings.Contains(logs.String(), "TLS verification disabled for Heat signal")
			if warned == tt.wantErr {
				t.Errorf("insecure warning logged = %v, want %v", warned, !tt.wantErr)
			}
			if !tt.wantErr {
				if err != nil || attempts != 1 {
					t.Fatalf("attempts=%d err=%v, want delivered at once", attempts, err)
				}
				return
			}
			he := heatError(t, err)
			if !he.Permanent || he.Attempts != 1 || attempts != 1 || !strings.Contains(he.Error(), "cannot verify the TLS certificate of Heat at 127.0.0.1:") {
				t.Errorf("got %+v (%v), want a permanent TLS error after 1 attempt", he, he)
			}
		})
	}
}

// TestSendStatus covers Heat answers the emulator does not produce.
func TestSendStatus(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		body      string
		location  string
		attempts  int
		permanent bool
		want      []string
	}{
		{name: "403 project mismatch", code: 403, permanent: true, attempts: 1,
			body: `{"code":403,"title":"Forbidden","explanation":"Access was denied to this resource.","error":{"type":"HTTPForbidden","message":"You are not authorized to use signal.","traceback":null}}`,
			want: []string{"HTTP 403: HTTPForbidden: You are not authorized to use signal.", "heat_stack_user", "same wait handle"}},
		{name: "400 body rejected", code: 400, permanent: true, attempts: 1,
			body: `{"code":400,"title":"Bad Request","explanation":"The server could not comply\r\n","error":{"type":"HTTPBadRequest","message":"Expecting ',' delimiter: line 1 column 9 (char 8)","traceback":null}}`,
			want: []string{"HTTP 400: HTTPBadRequest: Expecting ',' delimiter", "will not help"}},
		{name: "404 plain webob", code: 404, permanent: true, attempts: 1,
			body: "404 Not Found\n\nThe resource could not be found.\n\n   ",
			want: []string{"HTTP 404: 404 Not Found The resource could not be found.", "deleted"}},
		{name: "405 generic", code: 405, permanent: true, attempts: 1,
			body: `{"code":405,"title":"Method Not Allowed","error":{"type":"HTTPMethodNotAllowed","message":"The method is not allowed."}}`,
			want: []string{"Heat answered HTTP 405 to the signal: HTTPMethodNotAllowed", "/resources/<handle>/signal"}},
		{name: "redirect not followed", code: 301, permanent: true, attempts: 1, location: "https://heat.example:13004/v1/p/signal?token=" + canary,
			want: []string{"HTTP 301", "https://heat.example:13004/v1/p/signal;", "POST into a GET"}},
		{name: "429 retried out", code: 429, permanent: false, attempts: 3,
			want: []string{"Heat answered HTTP 429 after 3 attempts", "heatstrap signal"}},
		{name: "500 retried out", code: 500, permanent: false, attempts: 3, body: "<html>proxy error</html>",
			want: []string{"Heat answered HTTP 500 after 3 attempts: <html>proxy error</html>;"}},
		{name: "501 not retried", code: 501, permanent: true, attempts: 1, want: []string{"HTTP 501"}},
		{name: "token echoed by a server is scrubbed", code: 400, permanent: true, attempts: 1,
			body: `{"error":{"message":"bad token ` + canary + `"}}`, want: []string{"bad token ***"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.location != "" {
					w.Header().Set("Location", tt.location)
				}
				w.WriteHeader(tt.code)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			opts, _ := testOptions(t, canary)
			ep := heat.Endpoint{URL: srv.URL + "/v1/p/stacks/s/i/resources/h/signal", Token: config.NewSecret(canary)}
			attempts, err := newClient(t, ep, opts).Send(context.Background(), okSignal)
			he := heatError(t, err)
			if he.Code != tt.code || he.Permanent != tt.permanent || he.Attempts != tt.attempts || attempts != tt.attempts {
				t.Errorf("got code=%d permanent=%v attempts=%d/%d, want %d %v %d", he.Code, he.Permanent, he.Attempts, attempts, tt.code, tt.permanent, tt.attempts)
			}
			if heat.IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", heat.IsPermanent(err), tt.permanent)
			}
			for _, w := range tt.want {
				if !strings.Contains(he.Error(), w) {
					t.Errorf("error %q\n does not contain %q", he, w)
				}
			}
		})
	}
}

func TestSendUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more: connection refused
	opts, _ := testOptions(t, canary)
	ep := heat.Endpoint{URL: "http://" + addr + "/v1/p/stacks/s/i/resources/h/signal", Token: config.NewSecret(canary)}
	attempts, err := newClient(t, ep, opts).Send(context.Background(), okSignal)
	he := heatError(t, err)
	want := "cannot reach Heat at " + addr + " after 3 attempts: "
	if he.Permanent || heat.IsPermanent(err) || attempts != 3 || he.Code != 0 || !strings.HasPrefix(he.Error(), want) {
		t.Errorf("got %q permanent=%v attempts=%d, want prefix %q, retryable, 3 attempts", he, he.Permanent, attempts, want)
	}
	if strings.Contains(he.Error(), "giving up") || strings.Contains(he.Error(), "/signal") {
		t.Errorf("error repeats wrapper text or the URL path: %q", he)
	}
}

func TestSendCanceled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts, _ := testOptions(t, canary)
	ep := heat.Endpoint{URL: srv.URL + "/signal", Token: config.NewSecret(canary)}
	_, err := newClient(t, ep, opts).Send(ctx, okSignal)
	he := heatError(t, err)
	if !errors.Is(err, context.Canceled) || he.Permanent || !strings.Contains(he.Error(), "abandoned") {
		t.Errorf("got %q (permanent=%v), want a retryable error wrapping context.Canceled", he, he.Permanent)
	}
}

// An invalid signal must never reach Heat, which would answer 200 and drop it.
func TestSendInvalidSignalMakesNoRequest(t *testing.T) {
	var hits int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		_, _ = io.WriteString(w, "null")
	}))
	defer srv.Close()
	opts, _ := testOptions(t, canary)
	ep := heat.Endpoint{URL: srv.URL + "/signal", Token: config.NewSecret(canary)}
	attempts, err := newClient(t, ep, opts).Send(context.Background(), heat.Signal{Status: "DONE", ID: "1"})
	if !heat.IsPermanent(err) || attempts != 0 {
		t.Errorf("attempts=%d err=%v, want a permanent error and no attempt", attempts, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Errorf("server got %d requests", hits)
	}
}

func TestNewClientRejects(t *testing.T) {
	for _, ep := range []heat.Endpoint{
		{URL: "heat:8004/signal", Token: config.NewSecret(canary)},
		{URL: "http://heat:8004/signal"},
	} {
		if _, err := heat.NewClient(ep, httpclient.Options{}); err == nil || strings.Contains(err.Error(), canary) {
			t.Errorf("NewClient(%v) err = %v, want an error without the token", ep, err)
		}
	}
}

func TestIsPermanentOnOtherErrors(t *testing.T) {
	if heat.IsPermanent(nil) || heat.IsPermanent(errors.New("x")) {
		t.Error("IsPermanent is true for a non-heat error")
	}
}
