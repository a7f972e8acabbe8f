package heat_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/heat/heattest"
)

// These tests run the client against the Heat emulator, which reproduces
// heat-api's signal route, keystone tokens and the WaitCondition rules of
// the spec (§7).

// fixture is one emulated stack with a wait condition, and a client for its
// handle built from the handle's curl_cli, as WAIT_CURL gives it.
type fixture struct {
	srv    *heattest.Server
	wc     *heattest.WaitCondition
	client *heat.Client
	logs   *logBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := heattest.NewServer(heattest.Options{Logf: t.Logf})
	t.Cleanup(srv.Close)
	wc := srv.CreateWaitCondition(heattest.WaitConditionSpec{})
	ep, err := heat.ParseCurlCLI(wc.CurlCLI())
	if err != nil {
		t.Fatalf("the emulator's curl_cli does not parse: %v", err)
	}
	opts, logs := testOptions(t, wc.Token())
	return &fixture{srv: srv, wc: wc, client: newClient(t, ep, opts), logs: logs}
}

func waitFor(t *testing.T, wc *heattest.WaitCondition) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, err := wc.WaitFor(ctx)
	if err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	return status
}

func TestSendSuccessCompletesWaitCondition(t *testing.T) {
	f := newFixture(t)
	attempts, err := f.client.Send(context.Background(), okSignal)
	if err != nil || attempts != 1 {
		t.Fatalf("attempts=%d err=%v, want delivered at once", attempts, err)
	}
	if status := waitFor(t, f.wc); status != "COMPLETE" {
		t.Fatalf("WC status %s, want COMPLETE", status)
	}
	md := f.wc.Metadata()
	e, ok := md[okSignal.ID]
	if len(md) != 1 || !ok || e.Status != "SUCCESS" || e.Reason != okSignal.Reason || e.Data != okSignal.Data {
		t.Errorf("metadata = %+v, want only %q: SUCCESS %q %q", md, okSignal.ID, okSignal.Reason, okSignal.Data)
	}
	if !strings.Contains(f.logs.String(), "Heat signal delivered") {
		t.Errorf("no delivery log line:\n%s", f.logs)
	}
}

// The handle's endpoint and token attributes (WAIT_HANDLE_ENDPOINT and
// WAIT_HANDLE_TOKEN) reach the same handle as its curl_cli.
func TestSendViaHandleEndpointAndToken(t *testing.T) {
	srv := heattest.NewServer(heattest.Options{Logf: t.Logf})
	defer srv.Close()
	wc := srv.CreateWaitCondition(heattest.WaitConditionSpec{})
	ep, ok, err := heat.ResolveEndpoint(config.Secret{}, wc.Endpoint(), config.NewSecret(wc.Token()))
	if err != nil || !ok {
		t.Fatalf("ResolveEndpoint: ok=%v err=%v", ok, err)
	}
	opts, _ := testOptions(t, wc.Token())
	if _, err := newClient(t, ep, opts).Send(context.Background(), okSignal); err != nil {
		t.Fatal(err)
	}
	if status := waitFor(t, wc); status != "COMPLETE" {
		t.Fatalf("WC status %s, want COMPLETE", status)
	}
}

func TestSendFailureFailsWaitCondition(t *testing.T) {
	f := newFixture(t)
	sig := heat.Signal{Status: heat.Failure, Reason: "step make-cert failed: exit status 1", ID: "node-0"}
	if _, err := f.client.Send(context.Background(), sig); err != nil {
		t.Fatal(err)
	}
	if status := waitFor(t, f.wc); status != "FAILED" {
		t.Fatalf("WC status %s, want FAILED", status)
	}
	status, reason := f.wc.Status()
	if status != "FAILED" || !strings.HasPrefix(reason, "WaitConditionFailure: ") || !strings.HasSuffix(reason, ": "+sig.Reason) {
		t.Errorf("Status() = %s %q, want FAILED with WaitConditionFailure: ...: %s", status, reason, sig.Reason)
	}
}

// Heat's [clients_heat] insecure=True shows as --insecure in curl_cli (§1).
func TestInsecureCurlCLI(t *testing.T) {
	srv := heattest.NewServer(heattest.Options{Logf: t.Logf})
	defer srv.Close()
	wc := srv.CreateWaitCondition(heattest.WaitConditionSpec{Insecure: true})
	ep, err := heat.ParseCurlCLI(wc.CurlCLI())
	if err != nil || !ep.Insecure || ep.URL != wc.Endpoint() || ep.Token.Reveal() != wc.Token() {
		t.Fatalf("ParseCurlCLI(insecure curl_cli) = URL %q insecure %v err %v", ep.URL, ep.Insecure, err)
	}
}

// What the emulator received is what Heat needs to read the body (§2).
func TestSendRequestShape(t *testing.T) {
	f := newFixture(t)
	if _, err := f.client.Send(context.Background(), okSignal); err != nil {
		t.Fatal(err)
	}
	reqs := f.srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("emulator recorded %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	checks := map[string]bool{
		"POST":                           r.Method == http.MethodPost,
		"Content-Type: application/json": r.Header.Get("Content-Type") == "application/json",
		"Accept: application/json":       r.Header.Get("Accept") == "application/json",
		"X-Auth-Token is the handle's":   r.Header.Get("X-Auth-Token") == f.wc.Token(),
		"body starts with {":             len(r.Body) > 0 && r.Body[0] == '{',
		"answered 200":                   r.Code == http.StatusOK,
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("request: want %s; got %s %s %v %q (HTTP %d)", what, r.Method, r.Path, r.Header, r.Body, r.Code)
		}
	}
	checkWireShape(t, r.Body)
}

// Transient trouble is retried with the same body; the stable id makes the
// handle store it once (§2 "id semantics").
func TestSendRetriesTransientFailures(t *testing.T) {
	tests := []struct {
		name     string
		inject   func(*heattest.Server)
		attempts int
	}{
		{name: "two 503 then delivered", inject: func(s *heattest.Server) { s.FailNext(2, 503) }, attempts: 3},
		{name: "dropped connection then delivered", inject: func(s *heattest.Server) { s.DropConnections(1) }, attempts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.inject(f.srv)
			attempts, err := f.client.Send(context.Background(), okSignal)
			if err != nil || attempts != tt.attempts {
				t.Fatalf("attempts=%d err=%v, want delivered after %d", attempts, err, tt.attempts)
			}
			f.srv.Settle()
			if md := f.wc.Metadata(); len(md) != 1 {
				t.Errorf("metadata has %d entries, want exactly 1: %+v", len(md), md)
			}
			if status := waitFor(t, f.wc); status != "COMPLETE" {
				t.Errorf("WC status %s, want COMPLETE", status)
			}
		})
	}
}

// Answers that resending cannot change, and a Heat that stays down.
func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		inject    func(*fixture)
		code      int
		permanent bool
		attempts  int
		exact     string   // the whole message, when fixed
		contains  []string // otherwise, parts of it
	}{
		{name: "expired token", inject: func(f *fixture) { f.srv.ExpireToken(f.wc.Token()) },
			code: 401, permanent: true, attempts: 1,
			exact: "Heat rejected the signal token (HTTP 401); stack-user tokens expire about an hour after the stack was created: update the stack to get a new wait handle, or rerun `heatstrap signal` with WAIT_HANDLE_ENDPOINT/WAIT_HANDLE_TOKEN of a fresh handle"},
		{name: "handle not created", inject: func(f *fixture) { f.wc.SetHandleAction("INIT") },
			code: 404, permanent: true, attempts: 1,
			contains: []string{"Heat has no such stack or wait handle (HTTP 404: ", "deleted"}},
		{name: "stack deleted", inject: func(f *fixture) { f.wc.DeleteStack() },
			code: 404, permanent: true, attempts: 1,
			contains: []string{"Heat has no such stack or wait handle (HTTP 404: EntityNotFound: The Stack (", "could not be found."}},
		{name: "handle being deleted", inject: func(f *fixture) { f.wc.SetHandleAction("DELETE") },
			code: 400, permanent: true, attempts: 1,
			contains: []string{"HTTP 400: ", "Signal resource during DELETE is not supported."}},
		{name: "heat stays down", inject: func(f *fixture) { f.srv.FailNext(10, 503) },
			code: 503, permanent: false, attempts: 3,
			contains: []string{"Heat answered HTTP 503 after 3 attempts", "resend it later"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.inject(f)
			attempts, err := f.client.Send(context.Background(), okSignal)
			he := heatError(t, err)
			if strings.Contains(he.Error(), f.wc.Token()) {
				t.Fatalf("error leaks the token: %s", he)
			}
			if he.Code != tt.code || he.Permanent != tt.permanent || he.Attempts != tt.attempts || attempts != tt.attempts {
				t.Errorf("got code=%d permanent=%v attempts=%d/%d, want %d %v %d",
					he.Code, he.Permanent, he.Attempts, attempts, tt.code, tt.permanent, tt.attempts)
			}
			if tt.exact != "" && he.Error() != tt.exact {
				t.Errorf("message\n got %q\nwant %q", he, tt.exact)
			}
			for _, w := range tt.contains {
				if !strings.Contains(he.Error(), w) {
					t.Errorf("message %q\n does not contain %q", he, w)
				}
			}
			f.srv.Settle()
			if md := f.wc.Metadata(); len(md) != 0 {
				t.Errorf("a refused signal was stored: %+v", md)
			}
		})
	}
}
