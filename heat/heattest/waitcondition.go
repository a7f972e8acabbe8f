package heattest

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// WaitConditionSpec describes one stack holding an OS::Heat::WaitConditionHandle
// (TOKEN_SIGNAL) and the OS::Heat::WaitCondition waiting on it.
type WaitConditionSpec struct {
	StackName  string        // nested stack name, e.g. "k8s-abc-kube_masters-xyz-0-def"; default "stack"
	HandleName string        // default "master_wait_handle"
	WCName     string        // default "master_wait_condition"
	Count      int           // default 1
	Timeout    time.Duration // default 6000 s; the WC clock starts at creation (§3)
	Insecure   bool          // curl_cli gets "--insecure " as with [clients_heat] insecure=True
	// ResourcePath is the nested path of StackName inside the root stack,
	// e.g. "kube_masters.resources[0]"; it prefixes the stack reason (§3).
	ResourcePath string
}

// WaitCondition is the test's handle on one emulated stack.
type WaitCondition struct {
	s  *Server
	st *stack
}

// Entry is one stored signal, keyed by str(id) in Metadata; Reason and Data
// are decoded as encoding/json would.
type Entry struct {
	Status string `json:"status"`
	Reason any    `json:"reason"`
	Data   any    `json:"data"`
}

// Event is a resource event on the handle, as `openstack stack event list` shows it.
type Event struct {
	Action string `json:"action"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// WC and stack states.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusComplete   = "COMPLETE"
	StatusFailed     = "FAILED"
)

type stack struct {
	id, name       string
	owner, sup     *project // owner project and stack_user_project
	deleted        bool
	status, reason string
	resourcePath   string
	handle         *handle
	wc             *waitCond
}

type handle struct {
	name           string
	action, status string
	user           *user
	password       string
	token          string
	endpoint       string
	curlCLI        string
	ids            []string            // metadata keys in dict order
	entries        map[string]*pyValue // id → {status, reason, data} (ordered dict)
	events         []Event
}

type waitCond struct {
	name           string
	count          int
	timeout        time.Duration
	startedAt      time.Time
	status, reason string
}

func (s *WaitConditionSpec) withDefaults() WaitConditionSpec {
	out := *s
	if out.StackName == "" {
		out.StackName = "stack"
	}
	if out.HandleName == "" {
		out.HandleName = "master_wait_handle"
	}
	if out.WCName == "" {
		out.WCName = "master_wait_condition"
	}
	if out.Count == 0 {
		out.Count = 1
	}
	if out.Count < 0 {
		panic("heattest: WaitConditionSpec.Count must be >= 1")
	}
	if out.Timeout <= 0 {
		out.Timeout = 6000 * time.Second
	}
	out.ResourcePath = strings.TrimPrefix(out.ResourcePath, "resources.")
	return out
}

// CreateWaitCondition creates the stack (owner project + stack_user_project),
// the stack-domain user with role heat_stack_user, mints its token through
// the same path as a keystone password auth, and starts the WC clock.
func (s *Server) CreateWaitCondition(spec WaitConditionSpec) *WaitCondition {
	sp := spec.withDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &stack{
		id:           newUUID(),
		name:         sp.StackName,
		owner:        s.addProjectLocked("demo", "default"),
		status:       "CREATE_IN_PROGRESS",
		reason:       "Stack CREATE started",
		resourcePath: sp.ResourcePath,
	}
	// Heat names the stack_user_project after the stack id, in the heat domain.
	st.sup = s.addProjectLocked(st.id, s.heatDomainLocked())
	password := newKeystoneID() // uuid4().hex, as HeatWaitConditionHandle.handle_create
	u := s.addUserLocked(fmt.Sprintf("%s-%s-%s", sp.StackName, sp.HandleName, newShortID()), password, s.heatDomainLocked())
	u.roles[st.sup.id] = []string{roleStackUser}
	h := &handle{
		name: sp.HandleName, action: "CREATE", status: StatusComplete,
		user: u, password: password, entries: map[string]*pyValue{},
	}
	h.token = s.mintLocked(u, st.sup.id)
	base := s.opts.PublicURL
	if base == "" {
		base = "http://127.0.0.1:8004"
	}
	h.endpoint = base + "/v1/" + pyURLQuote(st.sup.id) + "/stacks/" + pyURLQuote(st.name) + "/" +
		pyURLQuote(st.id) + "/resources/" + pyURLQuote(h.name) + "/signal"
	insecure := ""
	if sp.Insecure {
		insecure = "--insecure "
	}
	h.curlCLI = "curl " + insecure + "-i -X POST -H 'X-Auth-Token: " + h.token + "' " +
		"-H 'Content-Type: application/json' -H 'Accept: application/json' " + h.endpoint
	st.handle = h
	st.wc = &waitCond{name: sp.WCName, count: sp.Count, timeout: sp.Timeout,
		startedAt: s.opts.Now(), status: StatusInProgress, reason: "state changed"}
	s.stacks = append(s.stacks, st)
	return &WaitCondition{s: s, st: st}
}

func (s *Server) heatDomainLocked() string {
	if s.heatDomain == "" {
		s.heatDomain = newKeystoneID()
	}
	return s.heatDomain
}

// read runs f under the server lock after bringing the WC up to date.
func (w *WaitCondition) read(f func(st *stack)) {
	w.s.refresh(w.st)
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	f(w.st)
}

func (w *WaitCondition) handleString(f func(h *handle) string) string {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return f(w.st.handle)
}

// CurlCLI is the handle's curl_cli attribute, in Heat's exact format (§1).
func (w *WaitCondition) CurlCLI() string {
	return w.handleString(func(h *handle) string { return h.curlCLI })
}

// Endpoint is the handle's endpoint attribute (the signal URL).
func (w *WaitCondition) Endpoint() string {
	return w.handleString(func(h *handle) string { return h.endpoint })
}

// Token is the TOKEN_SIGNAL token, minted once at creation and never refreshed.
func (w *WaitCondition) Token() string {
	return w.handleString(func(h *handle) string { return h.token })
}

// UserID, Password and ProjectID are the HEAT_SIGNAL credentials.
func (w *WaitCondition) UserID() string {
	return w.handleString(func(h *handle) string { return h.user.id })
}

// Password of the stack-domain user.
func (w *WaitCondition) Password() string {
	return w.handleString(func(h *handle) string { return h.password })
}

// ProjectID is the stack_user_project id.
func (w *WaitCondition) ProjectID() string { return w.st.sup.id }

// AuthURL is the keystone v3 URL a HEAT_SIGNAL agent authenticates against.
func (w *WaitCondition) AuthURL() string { return w.s.URL() + "/v3" }

// StackID and StackName identify the (nested) stack.
func (w *WaitCondition) StackID() string { return w.st.id }

// StackName is the (nested) stack name.
func (w *WaitCondition) StackName() string { return w.st.name }

// Signal is the handle's `signal` attribute: "null" for TOKEN_SIGNAL (§1).
func (w *WaitCondition) Signal() string { return "null" }

// Status is the WC state ("IN_PROGRESS", "COMPLETE", "FAILED") and its
// status_reason, e.g. "WaitConditionFailure: resources.master_wait_condition: step x failed".
func (w *WaitCondition) Status() (status, reason string) {
	w.read(func(st *stack) { status, reason = st.wc.status, st.wc.reason })
	return status, reason
}

// StackStatus is the stack state. With ResourcePath set, the reason is the
// one the root stack shows, e.g. "Resource CREATE failed: WaitConditionTimeout:
// resources.kube_masters.resources[0].resources.master_wait_condition: 0 of 1 received".
func (w *WaitCondition) StackStatus() (status, reason string) {
	w.read(func(st *stack) { status, reason = st.status, st.reason })
	return status, reason
}

// Metadata is a copy of the handle metadata, keyed by str(id).
func (w *WaitCondition) Metadata() map[string]Entry {
	out := map[string]Entry{}
	w.read(func(st *stack) {
		for id, e := range st.handle.entries {
			out[id] = Entry{Status: e.get("status").s, Reason: e.get("reason").toAny(), Data: e.get("data").toAny()}
		}
	})
	return out
}

// Events are the handle's events (SIGNAL, and refused DELETE/SUSPEND signals).
func (w *WaitCondition) Events() []Event {
	var out []Event
	w.read(func(st *stack) { out = append(out, st.handle.events...) })
	return out
}

// Data is the WC `data` attribute: jsonutils.dumps({id: data}) (§5).
func (w *WaitCondition) Data() string {
	var out string
	w.read(func(st *stack) {
		d := &pyValue{kind: pyDict}
		for _, id := range st.handle.ids {
			d.set(id, st.handle.entries[id].get("data"))
		}
		out = pyDumps(d)
	})
	return out
}

// SetHandleAction sets the handle's action: "CREATE", "DELETE", "SUSPEND"
// (signals → 400 NotSupported) or "INIT" (→ 404 ResourceNotAvailable).
func (w *WaitCondition) SetHandleAction(action string) {
	w.s.mu.Lock()
	w.st.handle.action = strings.ToUpper(action)
	w.s.mu.Unlock()
	w.s.notify()
}

// DeleteStack marks the stack deleted: signals then get 404 EntityNotFound.
func (w *WaitCondition) DeleteStack() {
	w.s.mu.Lock()
	w.st.deleted = true
	w.s.mu.Unlock()
	w.s.notify()
}

// WaitFor blocks until the WC leaves IN_PROGRESS or ctx ends, re-evaluating
// with Options.Now so that timeouts fire under an injected clock too.
func (w *WaitCondition) WaitFor(ctx context.Context) (status string, err error) {
	for {
		status, _ = w.Status()
		if status != StatusInProgress {
			return status, nil
		}
		w.s.mu.Lock()
		changed := w.s.changed
		w.s.mu.Unlock()
		select {
		case <-ctx.Done():
			return status, ctx.Err()
		case <-changed:
		case <-time.After(10 * time.Millisecond):
		}
	}
}
