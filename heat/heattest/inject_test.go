package heattest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFailNext(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	f.s.FailNext(2, 503)
	for i := range 2 {
		r := f.signal(wc, validBody)
		checkRequestID(t, r)
		if r.code != 503 || r.jsonField(t, "error", "type") != "HTTPServiceUnavailable" || r.jsonField(t, "code") != 503.0 {
			t.Fatalf("attempt %d: %d %s", i, r.code, r.body)
		}
	}
	f.s.Settle()
	if len(wc.Metadata()) != 0 {
		t.Fatal("a failed request was processed")
	}
	if r := f.signal(wc, validBody); r.code != 200 {
		t.Fatalf("third attempt: %d", r.code)
	}
	f.s.Settle()
	if st, _ := wc.Status(); st != StatusComplete {
		t.Errorf("status %s after the retry", st)
	}
	// Only signal POSTs are affected.
	f.s.FailNext(1, 500)
	if r := authTokens(t, f, passwordAuth(wc.UserID(), wc.Password(), wc.ProjectID())); r.code != 201 {
		t.Errorf("keystone got the injected fault: %d", r.code)
	}
	if r := f.signal(wc, validBody); r.code != 500 {
		t.Errorf("signal after FailNext(1, 500): %d", r.code)
	}
}

func TestDropConnections(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	f.s.DropConnections(1)
	req, _ := http.NewRequest(http.MethodPost, wc.Endpoint(), strings.NewReader(validBody))
	req.Header.Set("X-Auth-Token", wc.Token())
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request got an answer: %d", resp.StatusCode)
	}
	f.s.Settle()
	if len(wc.Metadata()) != 0 {
		t.Fatal("a dropped request was processed")
	}
	if r := f.signal(wc, validBody); r.code != 200 {
		t.Fatalf("next request: %d", r.code)
	}
	reqs := f.s.Requests()
	if len(reqs) != 2 || reqs[0].Code != 0 || reqs[1].Code != 200 {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestRequestsAreRecorded(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	f.signal(wc, validBody)
	do(t, http.MethodGet, wc.Endpoint(), nil)
	do(t, http.MethodGet, f.s.URL()+"/test/wait_conditions", nil) // test routes are not recorded
	reqs := f.s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	first := reqs[0]
	if first.Method != "POST" || first.Path != strings.TrimPrefix(wc.Endpoint(), f.s.URL()) || string(first.Body) != validBody ||
		first.Code != 200 || first.Header.Get("X-Auth-Token") != wc.Token() {
		t.Errorf("first request = %+v", first)
	}
	if reqs[1].Method != "GET" || reqs[1].Code != 401 {
		t.Errorf("second request = %+v", reqs[1])
	}
	reqs[0].Body[0] = 'X'
	if f.s.Requests()[0].Body[0] != '{' {
		t.Error("Requests() shares its buffers")
	}
}

// TestAnswerBeforeProcessing: 200 means queued, not applied.
func TestAnswerBeforeProcessing(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.SignalDelay = 300 * time.Millisecond })
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	start := time.Now()
	if r := f.signal(wc, validBody); r.code != 200 || r.body != "null" {
		t.Fatalf("signal: %d %q", r.code, r.body)
	}
	if time.Since(start) > 250*time.Millisecond {
		t.Error("the response waited for processing")
	}
	if n := len(wc.Metadata()); n != 0 {
		t.Errorf("signal applied before the delay: %d entries", n)
	}
	f.s.Settle()
	if n := len(wc.Metadata()); n != 1 {
		t.Errorf("after Settle: %d entries, want 1", n)
	}
}

func TestTestRoutes(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{HandleName: "h1"})
	send(f, wc, js(`{"status":"FAILURE","reason":"x"}`))
	f.s.Settle()
	for _, key := range []string{"h1", wc.StackID(), "stack", "master_wait_condition"} {
		r := do(t, http.MethodGet, f.s.URL()+"/test/wait_conditions/"+key, nil)
		var snap Snapshot
		if err := json.Unmarshal([]byte(r.body), &snap); err != nil || r.code != 200 {
			t.Fatalf("GET %s: %d %v", key, r.code, err)
		}
		if snap.CurlCLI != wc.CurlCLI() || snap.Status != StatusFailed || snap.Signal != "null" ||
			snap.Metadata["1"].Status != "FAILURE" || snap.Data != `{"1": null}` || len(snap.Events) != 1 {
			t.Errorf("snapshot %+v", snap)
		}
	}
	if r := do(t, http.MethodGet, f.s.URL()+"/test/wait_conditions/nope", nil); r.code != 404 {
		t.Errorf("unknown key: %d", r.code)
	}
	var all []Snapshot
	r := do(t, http.MethodGet, f.s.URL()+"/test/wait_conditions", nil)
	if err := json.Unmarshal([]byte(r.body), &all); err != nil || len(all) != 1 {
		t.Errorf("list: %v %s", err, r.body)
	}
}

func TestHandlerOnOwnListener(t *testing.T) {
	s := New(Options{PublicURL: "http://10.0.0.1:8004/"})
	defer s.Close()
	wc := s.CreateWaitCondition(WaitConditionSpec{})
	if !strings.HasPrefix(wc.Endpoint(), "http://10.0.0.1:8004/v1/") || s.URL() != "http://10.0.0.1:8004" {
		t.Errorf("endpoint %s, URL %s", wc.Endpoint(), s.URL())
	}
}
