package heattest

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWaitConditionEvaluation covers §3 / §7 "WC evaluation": timeout
// first, then any FAILURE, then the count.
func TestWaitConditionEvaluation(t *testing.T) {
	cases := []struct {
		name        string
		spec        WaitConditionSpec
		posts       []string
		advance     time.Duration
		status      string
		reason      string
		stackStatus string
		stackReason string
	}{
		{name: "nothing yet", status: "IN_PROGRESS", reason: "state changed",
			stackStatus: "CREATE_IN_PROGRESS", stackReason: "Stack CREATE started"},
		{name: "one SUCCESS completes count 1", posts: []string{`{"status":"SUCCESS","reason":"ok","id":"1"}`},
			status: "COMPLETE", reason: "state changed",
			stackStatus: "CREATE_COMPLETE", stackReason: "Stack CREATE completed successfully"},
		{name: "one FAILURE fails", posts: []string{`{"status":"FAILURE","reason":"step make-cert failed","id":"1"}`},
			status: "FAILED", reason: "WaitConditionFailure: resources.master_wait_condition: step make-cert failed",
			stackStatus: "CREATE_FAILED",
			stackReason: "Resource CREATE failed: WaitConditionFailure: resources.master_wait_condition: step make-cert failed"},
		{name: "FAILURE without reason shows the default", posts: []string{`{"status":"FAILURE"}`},
			status: "FAILED", reason: "WaitConditionFailure: resources.master_wait_condition: Signal 1 received",
			stackStatus: "CREATE_FAILED"},
		{name: "FAILURE among SUCCESSes", spec: WaitConditionSpec{Count: 3},
			posts: []string{
				`{"status":"SUCCESS","reason":"fine","id":"a"}`,
				`{"status":"FAILURE","reason":"disk","id":"b"}`,
			},
			status: "FAILED", reason: "WaitConditionFailure: resources.master_wait_condition: disk", stackStatus: "CREATE_FAILED"},
		{name: "FAILURE beats a reached count", spec: WaitConditionSpec{Count: 2},
			posts:  []string{`{"status":"SUCCESS","id":"a"}`, `{"status":"FAILURE","reason":"late","id":"b"}`},
			status: "FAILED", reason: "WaitConditionFailure: resources.master_wait_condition: late", stackStatus: "CREATE_FAILED"},
		{name: "FAILURE after COMPLETE is ignored",
			posts:  []string{`{"status":"SUCCESS","id":"a"}`, `{"status":"FAILURE","reason":"late","id":"b"}`},
			status: "COMPLETE", reason: "state changed", stackStatus: "CREATE_COMPLETE"},
		{name: "SUCCESS overwriting a FAILURE in the same id", spec: WaitConditionSpec{Count: 2},
			posts: []string{`{"status":"FAILURE","reason":"x","id":"a"}`, `{"status":"SUCCESS","id":"a"}`},
			// The FAILURE was evaluated when it arrived (the 1 s poll would see it too).
			status: "FAILED", reason: "WaitConditionFailure: resources.master_wait_condition: x", stackStatus: "CREATE_FAILED"},
		{name: "count 3 needs three distinct ids", spec: WaitConditionSpec{Count: 3},
			posts:  []string{`{"id":"a"}`, `{"id":"b"}`, `{"id":"b"}`},
			status: "IN_PROGRESS", reason: "state changed", stackStatus: "CREATE_IN_PROGRESS"},
		{name: "count 3 reached", spec: WaitConditionSpec{Count: 3},
			posts:  []string{`{"id":"a"}`, `{"id":"b"}`, `{"id":"c"}`},
			status: "COMPLETE", reason: "state changed", stackStatus: "CREATE_COMPLETE"},
		{name: "non-string FAILURE reason: join raises TypeError",
			posts:  []string{`{"status":"FAILURE","reason":42}`},
			status: "FAILED", reason: "TypeError: resources.master_wait_condition: sequence item 0: expected str instance, int found",
			stackStatus: "CREATE_FAILED"},

		// Timeout, measured from creation with the injected clock.
		{name: "just before the timeout", advance: 6000*time.Second - time.Nanosecond,
			status: "IN_PROGRESS", reason: "state changed", stackStatus: "CREATE_IN_PROGRESS"},
		{name: "timeout with nothing received", advance: 6000 * time.Second,
			status: "FAILED", reason: "WaitConditionTimeout: resources.master_wait_condition: 0 of 1 received",
			stackStatus: "CREATE_FAILED",
			stackReason: "Resource CREATE failed: WaitConditionTimeout: resources.master_wait_condition: 0 of 1 received"},
		{name: "timeout lists SUCCESS reasons", spec: WaitConditionSpec{Count: 3, Timeout: 60 * time.Second},
			posts:   []string{`{"reason":"r1"}`, `{"reason":"r2"}`},
			advance: time.Minute,
			status:  "FAILED", reason: "WaitConditionTimeout: resources.master_wait_condition: 2 of 3 received - r1;r2",
			stackStatus: "CREATE_FAILED"},
		{name: "invalid signals do not count", spec: WaitConditionSpec{Timeout: time.Minute},
			posts: []string{`{"status":"DONE","id":"1"}`}, advance: time.Minute,
			status: "FAILED", reason: "WaitConditionTimeout: resources.master_wait_condition: 0 of 1 received",
			stackStatus: "CREATE_FAILED"},
		{name: "timeout with a non-string SUCCESS reason", spec: WaitConditionSpec{Count: 3, Timeout: time.Minute},
			posts: []string{`{"reason":"ok"}`, `{"reason":null}`}, advance: time.Minute,
			status: "FAILED", reason: "TypeError: resources.master_wait_condition: sequence item 1: expected str instance, NoneType found",
			stackStatus: "CREATE_FAILED"},

		// Names and nested paths (§3 "What the operator sees").
		{name: "custom WC name", spec: WaitConditionSpec{WCName: "wait_condition", Timeout: time.Second}, advance: time.Second,
			status: "FAILED", reason: "WaitConditionTimeout: resources.wait_condition: 0 of 1 received",
			stackStatus: "CREATE_FAILED", stackReason: "Resource CREATE failed: WaitConditionTimeout: resources.wait_condition: 0 of 1 received"},
		{name: "nested stack path", advance: 6000 * time.Second,
			spec:   WaitConditionSpec{StackName: "k8s-abc-kube_masters-xyz-0-def", ResourcePath: "kube_masters.resources[0]"},
			status: "FAILED", reason: "WaitConditionTimeout: resources.master_wait_condition: 0 of 1 received",
			stackStatus: "CREATE_FAILED",
			stackReason: "Resource CREATE failed: WaitConditionTimeout: resources.kube_masters.resources[0].resources.master_wait_condition: 0 of 1 received"},
		{name: "nested path given with resources. prefix", posts: []string{`{"status":"FAILURE","reason":"bad"}`},
			spec:        WaitConditionSpec{ResourcePath: "resources.kube_minions.resources[2]"},
			status:      "FAILED",
			stackStatus: "CREATE_FAILED",
			stackReason: "Resource CREATE failed: WaitConditionFailure: resources.kube_minions.resources[2].resources.master_wait_condition: bad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			wc := f.s.CreateWaitCondition(tc.spec)
			for _, p := range tc.posts {
				send(f, wc, js(p))
				f.s.Settle()
			}
			f.clock.Advance(tc.advance)
			status, reason := wc.Status()
			if status != tc.status || tc.reason != "" && reason != tc.reason {
				t.Errorf("Status() = %q, %q\nwant %q, %q", status, reason, tc.status, tc.reason)
			}
			stackStatus, stackReason := wc.StackStatus()
			if stackStatus != tc.stackStatus || tc.stackReason != "" && stackReason != tc.stackReason {
				t.Errorf("StackStatus() = %q, %q\nwant %q, %q", stackStatus, stackReason, tc.stackStatus, tc.stackReason)
			}
		})
	}
}

// TestFailureReasonsJoined: FAILURE signals that land between two polls are
// reported together, joined with ";" in metadata order.
func TestFailureReasonsJoined(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{Count: 5})
	f.s.mu.Lock()
	for _, body := range []string{`{"status":"FAILURE","reason":"disk","id":"b"}`, `{"reason":"fine","id":"a"}`, `{"status":"FAILURE","reason":"net","id":"c"}`} {
		d, err := pyLoads([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		f.s.applySignalLocked(signalJob{st: wc.st, details: d})
	}
	f.s.mu.Unlock()
	want := "WaitConditionFailure: resources.master_wait_condition: disk;net"
	if st, reason := wc.Status(); st != StatusFailed || reason != want {
		t.Errorf("Status() = %q, %q; want FAILED, %q", st, reason, want)
	}
}

// TestTimeoutFiresWithoutPolling: the 1 s ticker evaluates on its own.
func TestTimeoutFiresWithoutPolling(t *testing.T) {
	changed := make(chan struct{}, 16)
	f := newFixture(t, func(o *Options) {
		o.OnChange = func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	wc := f.s.CreateWaitCondition(WaitConditionSpec{Timeout: time.Minute})
	f.clock.Advance(time.Minute)
	select {
	case <-changed:
	case <-time.After(3 * time.Second):
		t.Fatal("no state change within 3 s of the timeout")
	}
	f.s.mu.Lock()
	status := wc.st.wc.status // read without evaluating
	f.s.mu.Unlock()
	if status != StatusFailed {
		t.Errorf("status = %s, want FAILED from the ticker", status)
	}
}

func TestWaitFor(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.SignalDelay = 50 * time.Millisecond })
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	send(f, wc, js(`{"status":"SUCCESS","reason":"ok","id":"1"}`))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st, err := wc.WaitFor(ctx); err != nil || st != StatusComplete {
		t.Errorf("WaitFor = %q, %v; want COMPLETE", st, err)
	}

	other := f.s.CreateWaitCondition(WaitConditionSpec{StackName: "other"})
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if st, err := other.WaitFor(short); !errors.Is(err, context.DeadlineExceeded) || st != StatusInProgress {
		t.Errorf("WaitFor without signals = %q, %v; want IN_PROGRESS, deadline exceeded", st, err)
	}

	// The injected clock alone is enough to end a wait.
	timed := f.s.CreateWaitCondition(WaitConditionSpec{StackName: "timed", Timeout: time.Hour})
	go func() { time.Sleep(30 * time.Millisecond); f.clock.Advance(time.Hour) }()
	if st, err := timed.WaitFor(ctx); err != nil || st != StatusFailed {
		t.Errorf("WaitFor across a timeout = %q, %v; want FAILED", st, err)
	}
}

// TestDataAttribute is the §5 documentation example.
func TestDataAttribute(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{Count: 9})
	if got := wc.Data(); got != "{}" {
		t.Errorf("Data() before signals = %q, want {}", got)
	}
	for _, p := range []string{`{}`, `{}`, `{"data":"data3"}`, `{"id":"id4","data":"data4"}`, `{"id":"id5"}`} {
		send(f, wc, js(p))
		f.s.Settle()
	}
	if got, want := wc.Data(), `{"1": null, "2": null, "3": "data3", "id4": "data4", "id5": null}`; got != want {
		t.Errorf("Data() = %s, want %s", got, want)
	}
	send(f, wc, js(`{"id":"obj","data":{"z":1,"a":[1.5,"é"]}}`))
	f.s.Settle()
	if got := wc.Data(); !strings.HasSuffix(got, `"obj": {"z": 1, "a": [1.5, "\u00e9"]}}`) {
		t.Errorf("Data() = %s; objects keep key order and ASCII escapes", got)
	}
}

func TestAttributes(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{StackName: "k8s-abc-kube_masters-xyz-0-def", HandleName: "wait handle/1"})
	wantEndpoint := f.s.URL() + "/v1/" + wc.ProjectID() + "/stacks/k8s-abc-kube_masters-xyz-0-def/" +
		wc.StackID() + "/resources/wait%20handle%2F1/signal"
	if wc.Endpoint() != wantEndpoint {
		t.Errorf("Endpoint() = %s\nwant %s", wc.Endpoint(), wantEndpoint)
	}
	wantCLI := "curl -i -X POST -H 'X-Auth-Token: " + wc.Token() + "' -H 'Content-Type: application/json' " +
		"-H 'Accept: application/json' " + wantEndpoint
	if wc.CurlCLI() != wantCLI {
		t.Errorf("CurlCLI() = %s\nwant %s", wc.CurlCLI(), wantCLI)
	}
	insecure := f.s.CreateWaitCondition(WaitConditionSpec{Insecure: true})
	if !strings.HasPrefix(insecure.CurlCLI(), "curl --insecure -i -X POST -H 'X-Auth-Token: ") {
		t.Errorf("insecure CurlCLI() = %s", insecure.CurlCLI())
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(wc.ProjectID()) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(wc.UserID()) {
		t.Errorf("keystone ids %q %q are not 32 hex digits", wc.ProjectID(), wc.UserID())
	}
	if !strings.HasPrefix(wc.Token(), "gAAAAA") || len(wc.Token()) < 150 {
		t.Errorf("token %q does not look like a fernet token", wc.Token())
	}
	if wc.Signal() != "null" || wc.AuthURL() != f.s.URL()+"/v3" {
		t.Errorf("Signal() = %q, AuthURL() = %q", wc.Signal(), wc.AuthURL())
	}
	if wc.Password() == "" || wc.Token() == insecure.Token() {
		t.Error("credentials must be per handle")
	}
}

func TestCustomTokenTTL(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.TokenTTL = time.Minute })
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	f.clock.Advance(time.Minute)
	if r := f.signal(wc, validBody); r.code != 401 {
		t.Errorf("signal after TokenTTL: %d, want 401", r.code)
	}
}
