package heattest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const validBody = `{"status":"SUCCESS","reason":"ok","data":"x","id":"1"}`

const keystone401 = `{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`

// reqSpec is one request of the §7 heat-api table; setup adjusts the
// default (a valid curl_cli signal).
type reqSpec struct {
	method  string
	url     string
	body    io.Reader
	headers []string
}

func defaultReq(wc *WaitCondition) reqSpec {
	return reqSpec{http.MethodPost, wc.Endpoint(), strings.NewReader(validBody),
		[]string{"X-Auth-Token", wc.Token(), "Content-Type", "application/json", "Accept", "application/json"}}
}

func (r reqSpec) header(name, value string) reqSpec {
	r.headers = append(append([]string(nil), r.headers...), name, value)
	return r
}

func (r reqSpec) withBody(b string) reqSpec { r.body = strings.NewReader(b); return r }

// tokenWithRoles mints a token for a new user holding roles in the WC's stack_user_project.
func tokenWithRoles(f *fixture, wc *WaitCondition, roles ...string) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	u := f.s.addUserLocked("someone", "pw", "default")
	u.roles[wc.ProjectID()] = roles
	return f.s.mintLocked(u, wc.ProjectID())
}

func TestSignalRouteTable(t *testing.T) {
	big := `{"status":"SUCCESS","reason":"` + strings.Repeat("a", maxJSONBodySize) + `"}`
	exact := `{"status":"SUCCESS","reason":"` + strings.Repeat("a", maxJSONBodySize-len(`{"status":"SUCCESS","reason":""}`)) + `"}`
	fault := func(code int, typ, msg string) string {
		title, expl := statusTitle(code)
		return faultJSON(code, title, expl, typ, msg)
	}
	forbidden := fault(403, "HTTPForbidden", "Access was denied to this resource.")

	cases := []struct {
		name      string
		setup     func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec
		code      int
		body      string // exact when set
		check     func(t *testing.T, f *fixture, wc *WaitCondition, r response)
		processed bool
	}{
		// Row 1: keystonemiddleware runs first, before routing and method checks.
		{name: "1 missing token", code: 401, body: keystone401,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { r.headers = r.headers[2:]; return r },
			check: func(t *testing.T, f *fixture, wc *WaitCondition, r response) {
				if got, want := r.header.Get("WWW-Authenticate"), `Keystone uri="`+f.s.URL()+`"`; got != want {
					t.Errorf("WWW-Authenticate = %q, want %q", got, want)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
			}},
		{name: "1 unknown token", code: 401, body: keystone401,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { return r.header("X-Auth-Token", "gAAAAABnope") }},
		{name: "1 token expired at TTL", code: 401, body: keystone401,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { f.clock.Advance(3600 * time.Second); return r }},
		{name: "1 token valid just before TTL", code: 200, body: "null", processed: true,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { f.clock.Advance(3599 * time.Second); return r }},
		{name: "1 revoked token", code: 401, body: keystone401,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { f.s.ExpireToken(wc.Token()); return r }},
		{name: "1 auth before routing", code: 401, body: keystone401,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				r.url = strings.Replace(r.url, "/"+wc.StackID(), "", 1)
				return r.header("X-Auth-Token", "bad")
			}},
		{name: "1 auth before method", code: 401, body: keystone401,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				r.method = http.MethodGet
				return r.header("X-Auth-Token", "bad")
			}},

		// Row 2: a path matching no route gets webob's plain 404.
		{name: "2 missing stack id", code: 404, check: plainNotFound,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				r.url = strings.Replace(r.url, "/"+wc.StackID(), "", 1)
				return r
			}},
		{name: "2 wrong action", code: 404, check: plainNotFound,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { r.url += "s"; return r }},
		{name: "2 trailing slash", code: 404, check: plainNotFound,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { r.url += "/"; return r }},

		// Row 3: methods.
		{name: "3 GET", code: 405, body: fault(405, "HTTPMethodNotAllowed", webobClientError), check: noAllow,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { r.method = http.MethodGet; return r }},
		{name: "3 PUT", code: 405, body: fault(405, "HTTPMethodNotAllowed", webobClientError), check: noAllow,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { r.method = http.MethodPut; return r }},
		{name: "3 DELETE", code: 405, body: fault(405, "HTTPMethodNotAllowed", webobClientError),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { r.method = http.MethodDelete; return r }},
		{name: "3 PATCH", code: 405, body: fault(405, "HTTPMethodNotAllowed", webobClientError),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { r.method = http.MethodPatch; return r }},
		{name: "3 HEAD", code: 405,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { r.method = http.MethodHead; return r }},
		{name: "3 OPTIONS", code: 204, body: "",
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { r.method = http.MethodOptions; return r },
			check: func(t *testing.T, f *fixture, wc *WaitCondition, r response) {
				if got := r.header.Get("Allow"); got != "POST" {
					t.Errorf("Allow = %q, want POST", got)
				}
			}},

		// Row 4: size limit, only for a body that would be parsed.
		{name: "4 parsed body over 1 MiB", code: 400,
			body:  fault(400, "RequestLimitExceeded", fmt.Sprintf("Request limit exceeded: JSON body size (%d bytes) exceeds maximum allowed size (1048576 bytes).", len(big))),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { return r.withBody(big) }},
		{name: "4 body of exactly 1 MiB", code: 200, body: "null", processed: true,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { return r.withBody(exact) }},
		{name: "4 unparsed body over 1 MiB is a SUCCESS", code: 200, body: "null", processed: true,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { return r.withBody(" " + big) }},

		// Row 5: malformed JSON, synchronously, before any policy check.
		{name: "5 invalid JSON", code: 400,
			body:  fault(400, "HTTPBadRequest", "Expecting value: line 1 column 12 (char 11)"),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { return r.withBody(`{"status": SUCCESS}`) }},
		{name: "5 invalid JSON as text/plain", code: 400,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				return r.withBody(`{"status":`).header("Content-Type", "text/plain; charset=utf-8")
			}},
		{name: "5 invalid JSON before project check", code: 400,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				r.url = strings.Replace(r.url, wc.ProjectID(), "0123456789abcdef0123456789abcdef", 1)
				return r.withBody(`{`)
			}},
		{name: "5 invalid UTF-8", code: 400,
			body:  fault(400, "HTTPBadRequest", "'utf-8' codec can't decode byte 0xff in position 11: invalid start byte"),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { return r.withBody("{\"reason\":\"\xff\"}") }},
		{name: "5 invalid JSON form-encoded is not parsed", code: 200, body: "null", processed: true,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				return r.withBody(`{"status":`).header("Content-Type", "application/x-www-form-urlencoded")
			}},

		// Row 6: path project must be the token's project unless admin.
		{name: "6 project mismatch", code: 403, body: forbidden,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				r.url = strings.Replace(r.url, wc.ProjectID(), "0123456789abcdef0123456789abcdef", 1)
				return r
			}},
		{name: "6 admin bypasses the project check", code: 200, body: "null", processed: true,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				return r.header("X-Auth-Token", f.s.AdminToken())
			}},

		// Row 7: policy resource:signal.
		{name: "7 no heat_stack_user or reader role", code: 403, body: forbidden,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				return r.header("X-Auth-Token", tokenWithRoles(f, wc, "member"))
			}},
		{name: "7 reader role may signal", code: 200, body: "null", processed: true,
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				return r.header("X-Auth-Token", tokenWithRoles(f, wc, "reader"))
			}},

		// Row 8: _get_stack.
		{name: "8 unknown stack id", code: 404, body: fault(404, "EntityNotFound", "The Stack (stack) could not be found."),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				r.url = strings.Replace(r.url, wc.StackID(), newUUID(), 1)
				return r
			}},
		{name: "8 stack name mismatch", code: 404, body: fault(404, "EntityNotFound", "The Stack (other) could not be found."),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				r.url = strings.Replace(r.url, "/stacks/stack/", "/stacks/other/", 1)
				return r
			}},
		{name: "8 deleted stack", code: 404, body: fault(404, "EntityNotFound", "The Stack (stack) could not be found."),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { wc.DeleteStack(); return r }},
		{name: "8 token project owns another stack", code: 404, body: fault(404, "EntityNotFound", "The Stack (stack) could not be found."),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				other := f.s.CreateWaitCondition(WaitConditionSpec{StackName: "stack2"})
				r.url = strings.Replace(r.url, wc.ProjectID(), other.ProjectID(), 1)
				return r.header("X-Auth-Token", other.Token())
			}},

		// Rows 9–11: the engine's synchronous part.
		{name: "9 resource not in stack", code: 404,
			body: fault(404, "ResourceNotFound", "The Resource (nope) could not be found in Stack stack."),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				r.url = strings.Replace(r.url, "/master_wait_handle/", "/nope/", 1)
				return r
			}},
		{name: "9 the WC itself takes no signal", code: 400,
			body: fault(400, "ResourceActionNotSupported", "signal is not supported for resource."),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec {
				r.url = strings.Replace(r.url, "/master_wait_handle/", "/master_wait_condition/", 1)
				return r
			}},
		{name: "10 handle in INIT", code: 404,
			body:  fault(404, "ResourceNotAvailable", "The Resource (master_wait_handle) is not available."),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { wc.SetHandleAction("INIT"); return r }},
		{name: "11 handle in DELETE", code: 400,
			body:  fault(400, "NotSupported", "Signal resource during DELETE is not supported."),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { wc.SetHandleAction("DELETE"); return r },
			check: wantEvent(Event{"DELETE", "COMPLETE", "Cannot signal resource during DELETE"})},
		{name: "11 handle in SUSPEND", code: 400,
			body:  fault(400, "NotSupported", "Signal resource during SUSPEND is not supported."),
			setup: func(f *fixture, wc *WaitCondition, r reqSpec) reqSpec { wc.SetHandleAction("SUSPEND"); return r },
			check: wantEvent(Event{"SUSPEND", "COMPLETE", "Cannot signal resource during SUSPEND"})},

		// Row 12.
		{name: "12 accepted", code: 200, body: "null", processed: true,
			check: func(t *testing.T, f *fixture, wc *WaitCondition, r response) {
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			wc := f.s.CreateWaitCondition(WaitConditionSpec{})
			spec := defaultReq(wc)
			if tc.setup != nil {
				spec = tc.setup(f, wc, spec)
			}
			r := do(t, spec.method, spec.url, spec.body, spec.headers...)
			checkRequestID(t, r)
			if r.code != tc.code {
				t.Fatalf("code = %d, want %d; body %q", r.code, tc.code, r.body)
			}
			if tc.body != "" && r.body != tc.body {
				t.Errorf("body =\n%s\nwant\n%s", r.body, tc.body)
			}
			if tc.check != nil {
				tc.check(t, f, wc, r)
			}
			f.s.Settle()
			if got := len(wc.Metadata()) == 1; got != tc.processed {
				t.Errorf("signal stored = %v, want %v (metadata %v)", got, tc.processed, wc.Metadata())
			}
		})
	}
}

func plainNotFound(t *testing.T, f *fixture, wc *WaitCondition, r response) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	if strings.HasPrefix(strings.TrimSpace(r.body), "{") || !strings.Contains(r.body, "404 Not Found") {
		t.Errorf("body = %q, want webob's plain 404", r.body)
	}
}

func noAllow(t *testing.T, f *fixture, wc *WaitCondition, r response) {
	t.Helper()
	if a := r.header.Get("Allow"); a != "" {
		t.Errorf("Allow = %q; FaultWrapper drops it", a)
	}
}

func wantEvent(want Event) func(*testing.T, *fixture, *WaitCondition, response) {
	return func(t *testing.T, f *fixture, wc *WaitCondition, r response) {
		t.Helper()
		if ev := wc.Events(); len(ev) != 1 || ev[0] != want {
			t.Errorf("events = %+v, want [%+v]", ev, want)
		}
	}
}

// TestEveryResponseHasRequestID covers routes outside the signal table.
func TestEveryResponseHasRequestID(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/", "/v1/", "/v3", "/v3/auth/tokens", "/nope"} {
		r := do(t, http.MethodGet, f.s.URL()+path, nil)
		checkRequestID(t, r)
	}
	r := do(t, http.MethodPost, f.s.URL()+"/v3/auth/tokens", bytes.NewReader([]byte("{}")))
	checkRequestID(t, r)
}
