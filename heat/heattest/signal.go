package heattest

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
)

// maxJSONBodySize is heat.conf max_json_body_size (§2).
const maxJSONBodySize = 1048576

// bodyIsParsed is JSONRequestDeserializer.has_body + is_json_content_type
// (§2): Content-Length > 0, a JSON content type (or none, or text/plain*,
// the bug #1887882 back-compat), and a body starting with '{'. The webob
// mimetype is the header up to ';', neither trimmed nor lower-cased.
// Anything else is ignored and becomes a default SUCCESS signal.
func bodyIsParsed(r *http.Request, body []byte) bool {
	if r.ContentLength <= 0 { // chunked requests carry no Content-Length
		return false
	}
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if mt == "" || strings.HasPrefix(mt, "text/plain") {
		mt = "application/json"
	}
	return (mt == "application/json" || mt == "JSON") && bytes.HasPrefix(body, []byte("{"))
}

// serveSignal is POST .../resources/{res}/signal from check 4 on (§7).
func (s *Server) serveSignal(w http.ResponseWriter, r *http.Request, body []byte, rt heatRoute, tok *token) {
	var details *pyValue
	if bodyIsParsed(r, body) {
		size := max(int64(len(body)), r.ContentLength)
		if size > maxJSONBodySize {
			writeFault(w, newFault(http.StatusBadRequest, "RequestLimitExceeded", fmt.Sprintf(
				"Request limit exceeded: JSON body size (%d bytes) exceeds maximum allowed size (%d bytes).",
				size, maxJSONBodySize)))
			return
		}
		v, err := pyLoads(body)
		if err != nil {
			writeWebobFault(w, http.StatusBadRequest, err.Error())
			return
		}
		details = v
	}

	s.mu.Lock()
	st, f := s.lookupStackLocked(rt, tok)
	evented := false
	if f == nil {
		f, evented = s.signalTargetLocked(st, rt)
	}
	if f != nil {
		s.mu.Unlock()
		if evented {
			s.notify()
		}
		writeFault(w, f)
		return
	}
	// Count the signal before answering so Settle() cannot miss it.
	s.pending++
	s.mu.Unlock()

	writeBody(w, http.StatusOK, "application/json", "null")
	_ = http.NewResponseController(w).Flush()

	s.mu.Lock()
	s.queue = append(s.queue, signalJob{st: st, details: details})
	s.cond.Broadcast()
	s.mu.Unlock()
}

// signalTargetLocked is the synchronous part of EngineService.resource_signal
// (§7 rows 9–11): only the handle can take the signal. evented reports that
// _signal_check_action wrote an event.
func (s *Server) signalTargetLocked(st *stack, rt heatRoute) (f *fault, evented bool) {
	h := st.handle
	switch {
	case rt.resource == st.wc.name:
		// OS::Heat::WaitCondition has no handle_signal.
		return newFault(http.StatusBadRequest, "ResourceActionNotSupported", "signal is not supported for resource."), false
	case rt.resource != h.name:
		return resourceNotFound(rt), false
	case h.action == "INIT":
		return newFault(http.StatusNotFound, "ResourceNotAvailable", "The Resource ("+h.name+") is not available."), false
	case h.action == "DELETE" || h.action == "SUSPEND":
		h.events = append(h.events, Event{Action: h.action, Status: h.status, Reason: "Cannot signal resource during " + h.action})
		return newFault(http.StatusBadRequest, "NotSupported", "Signal resource during "+h.action+" is not supported."), true
	}
	return nil, false
}
