package heattest

import (
	"fmt"
	"time"
)

// signalJob is a signal heat-api accepted with "200 null"; details is the
// parsed body, or nil when the body was not parsed (§2).
type signalJob struct {
	st      *stack
	details *pyValue
}

// worker applies accepted signals one by one, after their response was
// written: heat-api answers before the engine thread runs (§4a, "Signal
// processing is asynchronous").
func (s *Server) worker() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		job := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()

		if d := s.opts.SignalDelay; d > 0 {
			select {
			case <-time.After(d):
			case <-s.stop:
				return
			}
		}
		s.mu.Lock()
		s.applySignalLocked(job)
		s.evalLocked(job.st)
		s.pending--
		s.cond.Broadcast()
		s.mu.Unlock()
		s.notify()
	}
}

// Settle waits until every signal answered so far has been applied.
func (s *Server) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.pending > 0 && !s.closed {
		s.cond.Wait()
	}
}

// applySignalLocked is HeatWaitConditionHandle.handle_signal plus
// BaseWaitConditionHandle.handle_signal (§7 "Async signal rules"). An
// invalid signal is dropped with only a log line: no event, no metadata,
// and the client already has its 200.
func (s *Server) applySignalLocked(job signalJob) {
	h := job.st.handle
	n := len(h.ids) + 1
	d := &pyValue{kind: pyDict} // metadata = details or {}
	if job.details != nil {
		d = job.details.clone()
	}
	d.setdefault("reason", pyString(fmt.Sprintf("Signal %d received", n)))
	d.setdefault("data", pyNull())
	d.setdefault("id", pyInteger(n))
	d.setdefault("status", pyString("SUCCESS"))
	if !metadataFormatOK(d) {
		s.logf("Metadata failed validation for %s", h.name)
		return
	}
	entry := d.clone()
	id := pyStrOf(entry.get("id")) // six.text_type(id): "id": null is stored as "None"
	entry.del("id")
	if _, dup := h.entries[id]; dup {
		s.logf("Overwriting Metadata item for id %s!", id)
	} else {
		h.ids = append(h.ids, id)
	}
	h.entries[id] = entry
	h.events = append(h.events, Event{
		Action: "SIGNAL",
		Status: h.status,
		Reason: fmt.Sprintf("Signal: status:%s reason:%s", pyStrOf(d.get("status")), pyStrOf(d.get("reason"))),
	})
}

// metadataFormatOK is _metadata_format_ok: exactly the four lowercase keys,
// and status exactly "SUCCESS" or "FAILURE".
func metadataFormatOK(d *pyValue) bool {
	if len(d.keys) != 4 {
		return false
	}
	for _, k := range []string{"data", "reason", "status", "id"} {
		if d.get(k) == nil {
			return false
		}
	}
	st := d.get("status")
	return st.kind == pyStr && (st.s == "SUCCESS" || st.s == "FAILURE")
}
