package heattest

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// post is one signal of a rules case: a body and how it is sent.
type post struct {
	body        string
	contentType string // "-" sends no Content-Type header
	chunked     bool
}

func js(body string) post { return post{body: body, contentType: "application/json"} }

func send(f *fixture, wc *WaitCondition, p post) {
	f.t.Helper()
	var body io.Reader = strings.NewReader(p.body)
	if p.chunked {
		body = chunked{body}
	}
	headers := []string{"X-Auth-Token", wc.Token()}
	if p.contentType != "-" {
		headers = append(headers, "Content-Type", p.contentType)
	}
	if r := do(f.t, http.MethodPost, wc.Endpoint(), body, headers...); r.code != 200 || r.body != "null" {
		f.t.Fatalf("signal %q answered %d %q, want 200 null", p.body, r.code, r.body)
	}
}

func success(reason string) Entry { return Entry{Status: "SUCCESS", Reason: reason} }

// TestAsyncSignalRules covers §2 / §7 "Async signal rules": every request
// is answered 200 null, and only then defaulted, validated and stored.
func TestAsyncSignalRules(t *testing.T) {
	defaultSuccess := map[string]Entry{"1": success("Signal 1 received")}
	failure := `{"status":"FAILURE","reason":"boom"}`
	cases := []struct {
		name    string
		posts   []post
		want    map[string]Entry
		events  []string // event reasons
		dropped bool     // "Metadata failed validation" logged
	}{
		// Defaults (normalise_signal_data).
		{name: "empty object gets every default", posts: []post{js(`{}`)},
			want: defaultSuccess, events: []string{"Signal: status:SUCCESS reason:Signal 1 received"}},
		{name: "status only", posts: []post{js(`{"status":"SUCCESS"}`)}, want: defaultSuccess},
		{name: "all four keys", posts: []post{js(`{"status":"SUCCESS","reason":"ok","data":{"k":[1,"v"]},"id":"node-1"}`)},
			want:   map[string]Entry{"node-1": {Status: "SUCCESS", Reason: "ok", Data: map[string]any{"k": []any{1.0, "v"}}}},
			events: []string{"Signal: status:SUCCESS reason:ok"}},
		{name: "explicit null reason stays null", posts: []post{js(`{"reason":null}`)},
			want: map[string]Entry{"1": {Status: "SUCCESS", Reason: nil}}, events: []string{"Signal: status:SUCCESS reason:None"}},
		{name: "non-string reason printed with %s", posts: []post{js(`{"reason":{"a":[1,2.5,true]}}`)},
			want:   map[string]Entry{"1": {Status: "SUCCESS", Reason: map[string]any{"a": []any{1.0, 2.5, true}}}},
			events: []string{"Signal: status:SUCCESS reason:{'a': [1, 2.5, True]}"}},

		// Bodies Heat does not parse become a default SUCCESS.
		{name: "empty body", posts: []post{js("")}, want: defaultSuccess},
		{name: "FAILURE as text/plain", posts: []post{{body: "FAILURE", contentType: "text/plain"}}, want: defaultSuccess},
		{name: "FAILURE JSON form-encoded (curl -d)", posts: []post{{body: failure, contentType: "application/x-www-form-urlencoded"}}, want: defaultSuccess},
		{name: "leading whitespace", posts: []post{js(" " + failure)}, want: defaultSuccess},
		{name: "leading newline", posts: []post{js("\n" + failure)}, want: defaultSuccess},
		{name: "JSON array", posts: []post{js("[" + failure + "]")}, want: defaultSuccess},
		{name: "JSON string", posts: []post{js(`"FAILURE"`)}, want: defaultSuccess},
		{name: "JSON null", posts: []post{js(`null`)}, want: defaultSuccess},
		{name: "mimetype is case-sensitive", posts: []post{{body: failure, contentType: "Application/JSON"}}, want: defaultSuccess},
		{name: "application/json+x is not JSON", posts: []post{{body: failure, contentType: "application/vnd.api+json"}}, want: defaultSuccess},
		{name: "chunked body has no Content-Length", posts: []post{{body: failure, contentType: "application/json", chunked: true}}, want: defaultSuccess},

		// Bodies Heat does parse.
		{name: "no Content-Type is parsed", posts: []post{{body: failure, contentType: "-"}},
			want: map[string]Entry{"1": {Status: "FAILURE", Reason: "boom"}}},
		{name: "empty Content-Type is parsed (cfn-signal)", posts: []post{{body: failure, contentType: ""}},
			want: map[string]Entry{"1": {Status: "FAILURE", Reason: "boom"}}},
		{name: "text/plain with charset is parsed", posts: []post{{body: failure, contentType: "text/plain; charset=utf-8"}},
			want: map[string]Entry{"1": {Status: "FAILURE", Reason: "boom"}}},
		{name: "JSON content type", posts: []post{{body: failure, contentType: "JSON"}},
			want: map[string]Entry{"1": {Status: "FAILURE", Reason: "boom"}}},
		{name: "application/json with charset", posts: []post{{body: failure, contentType: "application/json; charset=UTF-8"}},
			want: map[string]Entry{"1": {Status: "FAILURE", Reason: "boom"}}},

		// Validation: exact key set, case-sensitive status; dropped silently.
		{name: "extra key", posts: []post{js(`{"status":"SUCCESS","foo":1}`)}, want: map[string]Entry{}, dropped: true},
		{name: "capitalised key (CFN style)", posts: []post{js(`{"Status":"SUCCESS"}`)}, want: map[string]Entry{}, dropped: true},
		{name: "status lower case", posts: []post{js(`{"status":"success"}`)}, want: map[string]Entry{}, dropped: true},
		{name: "status FAIL", posts: []post{js(`{"status":"FAIL"}`)}, want: map[string]Entry{}, dropped: true},
		{name: "status DONE", posts: []post{js(`{"status":"DONE"}`)}, want: map[string]Entry{}, dropped: true},
		{name: "status null", posts: []post{js(`{"status":null}`)}, want: map[string]Entry{}, dropped: true},
		{name: "status number", posts: []post{js(`{"status":1}`)}, want: map[string]Entry{}, dropped: true},
		{name: "a later valid signal still counts", posts: []post{js(`{"status":"SUCCESS","foo":1}`), js(`{"id":"a"}`)},
			want: map[string]Entry{"a": success("Signal 1 received")}, dropped: true},

		// id semantics: str(id), overwrite, N from current entries.
		{name: "repeated id overwrites", posts: []post{js(`{"id":"x","reason":"one"}`), js(`{"id":"x","reason":"two"}`)},
			want:   map[string]Entry{"x": success("two")},
			events: []string{"Signal: status:SUCCESS reason:one", "Signal: status:SUCCESS reason:two"}},
		{name: "auto ids count up", posts: []post{js(`{}`), js(`{}`)},
			want: map[string]Entry{"1": success("Signal 1 received"), "2": success("Signal 2 received")}},
		{name: "auto id collides with explicit numeric id", posts: []post{js(`{"id":"2","reason":"explicit"}`), js(`{}`)},
			want: map[string]Entry{"2": success("Signal 2 received")}},
		{name: "N counts entries, not signals", posts: []post{js(`{"id":"x"}`), js(`{"id":"x"}`), js(`{}`)},
			want: map[string]Entry{"x": success("Signal 2 received"), "2": success("Signal 2 received")}},
		{name: "dropped signals do not advance N", posts: []post{js(`{"x":1}`), js(`{}`)},
			want: defaultSuccess, dropped: true},
		{name: "id null is stored under None", posts: []post{js(`{"id":null}`)}, want: map[string]Entry{"None": success("Signal 1 received")}},
		{name: "id int", posts: []post{js(`{"id":7}`)}, want: map[string]Entry{"7": success("Signal 1 received")}},
		{name: "id int and string collide", posts: []post{js(`{"id":7,"reason":"a"}`), js(`{"id":"7","reason":"b"}`)},
			want: map[string]Entry{"7": success("b")}},
		{name: "id float", posts: []post{js(`{"id":1.0}`), js(`{"id":1e20}`)},
			want: map[string]Entry{"1.0": success("Signal 1 received"), "1e+20": success("Signal 2 received")}},
		{name: "id bool", posts: []post{js(`{"id":true}`)}, want: map[string]Entry{"True": success("Signal 1 received")}},
		{name: "id object", posts: []post{js(`{"id":{"a":"b"}}`)}, want: map[string]Entry{"{'a': 'b'}": success("Signal 1 received")}},
		{name: "duplicate JSON keys: last wins", posts: []post{js(`{"status":"FAILURE","status":"SUCCESS"}`)}, want: defaultSuccess},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			wc := f.s.CreateWaitCondition(WaitConditionSpec{Count: 10})
			for _, p := range tc.posts {
				send(f, wc, p)
			}
			f.s.Settle()
			if got := wc.Metadata(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("metadata = %#v\nwant %#v", got, tc.want)
			}
			if dropped := f.logs.contains("Metadata failed validation for master_wait_handle"); dropped != tc.dropped {
				t.Errorf("validation failure logged = %v, want %v", dropped, tc.dropped)
			}
			events := wc.Events()
			for _, ev := range events {
				if ev.Action != "SIGNAL" || ev.Status != "COMPLETE" {
					t.Errorf("event %+v, want action SIGNAL status COMPLETE", ev)
				}
			}
			if tc.events != nil {
				var reasons []string
				for _, ev := range events {
					reasons = append(reasons, ev.Reason)
				}
				if !reflect.DeepEqual(reasons, tc.events) {
					t.Errorf("event reasons = %q, want %q", reasons, tc.events)
				}
			}
			if tc.dropped && len(events) != len(wc.Metadata()) {
				t.Errorf("a dropped signal wrote an event: %+v", events)
			}
		})
	}
}

func TestOverwriteIsLogged(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{Count: 2})
	send(f, wc, js(`{"id":"a"}`))
	send(f, wc, js(`{"id":"a"}`))
	f.s.Settle()
	if !f.logs.contains("Overwriting Metadata item for id a!") {
		t.Errorf("logs %q lack the overwrite line", f.logs.lines)
	}
	if st, _ := wc.Status(); st != StatusInProgress {
		t.Errorf("a repeated id counted twice: status %s", st)
	}
}
