package heattest

import (
	"fmt"
	"strings"
)

// refresh evaluates st's WaitCondition at Options.Now and notifies on change.
func (s *Server) refresh(st *stack) {
	s.mu.Lock()
	changed := s.evalLocked(st)
	s.mu.Unlock()
	if changed {
		s.notify()
	}
}

// evalLocked is HeatWaitCondition._wait (§3, §7 "WC evaluation"): timeout
// first, then any FAILURE, then the count. A WC that left IN_PROGRESS
// ignores later signals. It reports whether the state changed.
func (s *Server) evalLocked(st *stack) bool {
	wc, h := st.wc, st.handle
	if wc.status != StatusInProgress {
		return false
	}
	var typ, msg string
	switch {
	case s.opts.Now().Sub(wc.startedAt) >= wc.timeout:
		// WaitConditionTimeout: n counts SUCCESS entries only.
		reasons := h.reasons("SUCCESS")
		typ, msg = "WaitConditionTimeout", fmt.Sprintf("%d of %d received", len(reasons), wc.count)
		if len(reasons) > 0 {
			joined, typeErr := pyJoin(reasons)
			if typeErr != "" {
				typ, msg = "TypeError", typeErr
			} else {
				msg += " - " + joined
			}
		}
		s.logf("%s Timed out (%s)", wc.name, msg)
	case h.anyNotSuccess():
		joined, typeErr := pyJoin(h.reasons("FAILURE"))
		typ, msg = "WaitConditionFailure", joined
		if typeErr != "" {
			typ, msg = "TypeError", typeErr
		}
		s.logf("%s Failed (%s)", wc.name, msg)
	case len(h.ids) >= wc.count:
		wc.status, wc.reason = StatusComplete, "state changed"
		st.status, st.reason = "CREATE_COMPLETE", "Stack CREATE completed successfully"
		s.logf("%s Succeeded", wc.name)
		return true
	default:
		return false
	}
	// ResourceFailure / HeatExceptionWithPath: "<Type>: <path>: <message>".
	wc.status = StatusFailed
	wc.reason = fmt.Sprintf("%s: resources.%s: %s", typ, wc.name, msg)
	path := "resources." + wc.name
	if st.resourcePath != "" {
		path = "resources." + st.resourcePath + ".resources." + wc.name
	}
	st.status = "CREATE_FAILED"
	st.reason = fmt.Sprintf("Resource CREATE failed: %s: %s: %s", typ, path, msg)
	return true
}

// reasons is BaseWaitConditionHandle.get_status_reason: raw reason values
// of entries with that status, in metadata order.
func (h *handle) reasons(status string) []*pyValue {
	var out []*pyValue
	for _, id := range h.ids {
		if e := h.entries[id]; e.get("status").s == status {
			out = append(out, e.get("reason"))
		}
	}
	return out
}

func (h *handle) anyNotSuccess() bool {
	for _, e := range h.entries {
		if e.get("status").s != "SUCCESS" {
			return true
		}
	}
	return false
}

// pyJoin is ';'.join(reasons). Reasons are arbitrary JSON (§2), and join
// raises TypeError on a non-str item, which then fails the WC with that
// TypeError instead of the WaitCondition error; typeErr is its message.
func pyJoin(items []*pyValue) (joined, typeErr string) {
	parts := make([]string, len(items))
	for i, v := range items {
		if v.kind != pyStr {
			return "", fmt.Sprintf("sequence item %d: expected str instance, %s found", i, pyTypeNames[v.kind])
		}
		parts[i] = v.s
	}
	return strings.Join(parts, ";"), ""
}
