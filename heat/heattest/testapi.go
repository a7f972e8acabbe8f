package heattest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Snapshot is everything a test may want to know about one WaitCondition;
// it is what the test-only GET routes and the heat-emulator state file show.
type Snapshot struct {
	StackID           string           `json:"stack_id"`
	StackName         string           `json:"stack_name"`
	StackStatus       string           `json:"stack_status"`
	StackStatusReason string           `json:"stack_status_reason"`
	WaitCondition     string           `json:"wait_condition"`
	Status            string           `json:"status"`
	Reason            string           `json:"reason"`
	Count             int              `json:"count"`
	TimeoutSeconds    float64          `json:"timeout_seconds"`
	Handle            string           `json:"handle"`
	HandleAction      string           `json:"handle_action"`
	CurlCLI           string           `json:"curl_cli"`
	Endpoint          string           `json:"endpoint"`
	Token             string           `json:"token"`
	Signal            string           `json:"signal"`
	Data              string           `json:"data"`
	AuthURL           string           `json:"auth_url"`
	UserID            string           `json:"user_id"`
	Password          string           `json:"password"`
	ProjectID         string           `json:"project_id"`
	Metadata          map[string]Entry `json:"metadata"`
	Events            []Event          `json:"events"`
}

// Snapshot reads the current state (after evaluating the WC).
func (w *WaitCondition) Snapshot() Snapshot {
	status, reason := w.Status()
	stackStatus, stackReason := w.StackStatus()
	w.s.mu.Lock()
	h, wc := w.st.handle, w.st.wc
	snap := Snapshot{
		StackID: w.st.id, StackName: w.st.name, StackStatus: stackStatus, StackStatusReason: stackReason,
		WaitCondition: wc.name, Status: status, Reason: reason, Count: wc.count, TimeoutSeconds: wc.timeout.Seconds(),
		Handle: h.name, HandleAction: h.action, CurlCLI: h.curlCLI, Endpoint: h.endpoint, Token: h.token,
		Signal: "null", AuthURL: w.AuthURL(), UserID: h.user.id, Password: h.password, ProjectID: w.st.sup.id,
	}
	w.s.mu.Unlock()
	snap.Data, snap.Metadata, snap.Events = w.Data(), w.Metadata(), w.Events()
	if snap.Events == nil {
		snap.Events = []Event{}
	}
	return snap
}

// WaitConditions lists every WaitCondition created so far.
func (s *Server) WaitConditions() []*WaitCondition {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*WaitCondition, len(s.stacks))
	for i, st := range s.stacks {
		out[i] = &WaitCondition{s: s, st: st}
	}
	return out
}

// serveTestAPI serves the test-only routes (not part of Heat, no auth):
//
//	GET /test/wait_conditions        → [Snapshot, ...]
//	GET /test/wait_conditions/{key}  → Snapshot; key is a stack id, stack name, handle or WC name
//	GET /test/requests               → [Request, ...]
func (s *Server) serveTestAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeBody(w, http.StatusMethodNotAllowed, "text/plain; charset=utf-8", "GET only\n")
		return
	}
	var v any
	switch key, hasKey := strings.CutPrefix(r.URL.Path, "/test/wait_conditions/"); {
	case r.URL.Path == "/test/wait_conditions":
		snaps := []Snapshot{}
		for _, wc := range s.WaitConditions() {
			snaps = append(snaps, wc.Snapshot())
		}
		v = snaps
	case hasKey:
		i := slices.IndexFunc(s.WaitConditions(), func(wc *WaitCondition) bool {
			st := wc.st
			return key == st.id || key == st.name || key == st.handle.name || key == st.wc.name
		})
		if i < 0 {
			writeBody(w, http.StatusNotFound, "text/plain; charset=utf-8", "no such wait condition\n")
			return
		}
		v = s.WaitConditions()[i].Snapshot()
	case r.URL.Path == "/test/requests":
		v = s.Requests()
	default:
		writeBody(w, http.StatusNotFound, "text/plain; charset=utf-8", "unknown test route\n")
		return
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeBody(w, http.StatusInternalServerError, "text/plain; charset=utf-8", err.Error()+"\n")
		return
	}
	writeBody(w, http.StatusOK, "application/json", string(out)+"\n")
}
