package magnumtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault replaces or delays answers. Zero fields match everything.
type Fault struct {
	Service string // "keystone" or "magnum"
	Method  string
	Path    string // prefix of the request path, e.g. "/v1/certificates"
	// Times is how many matching requests it hits; 0 means all of them.
	Times int
	// Status and Body are the answer; Status 0 passes the request on
	// (after Delay) to the emulator.
	Status      int
	Body        string
	ContentType string
	// Delay holds the answer back, e.g. past the client's attempt timeout.
	Delay time.Duration
	hits  int
}

// Inject adds a fault; faults are tried in the order they were added.
func (c *Cloud) Inject(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, &f)
}

func (c *Cloud) takeFault(service string, r *http.Request) *Fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.faults {
		if (f.Service == "" || f.Service == service) && (f.Method == "" || f.Method == r.Method) &&
			strings.HasPrefix(r.URL.Path, f.Path) && (f.Times == 0 || f.hits < f.Times) {
			f.hits++
			return f
		}
	}
	return nil
}

// wrap records every request and applies faults before the emulator runs.
func (c *Cloud) wrap(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.inflight++
		c.mu.Unlock()
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := Request{Service: service, Method: r.Method, Path: r.URL.Path,
			APIVersion: r.Header.Get("OpenStack-API-Version"), Fields: jsonFields(body)}
		if service == "magnum" {
			rec.Body = string(body) // keystone bodies hold passwords
			c.mu.Lock()
			if t := c.validTokenLocked(r.Header.Get("X-Auth-Token")); t != nil {
				rec.User, rec.Trust = t.user, t.trust
			}
			c.mu.Unlock()
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			rec.Status = sw.status
			c.mu.Lock()
			c.requests = append(c.requests, rec)
			if c.inflight--; c.inflight == 0 {
				c.settled.Broadcast()
			}
			c.mu.Unlock()
		}()
		f := c.takeFault(service, r)
		if f != nil && f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return // the client gave up; nothing is answered
			}
		}
		if f != nil && f.Status != 0 {
			ct := f.ContentType
			if ct == "" {
				ct = "text/html; charset=UTF-8"
			}
			writeBody(sw, f.Status, ct, []byte(f.Body))
			return
		}
		h.ServeHTTP(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func jsonFields(body []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeMagnumError is what ParsableErrorMiddleware makes of a wsme fault:
// the title is the faultstring up to its first dot.
func writeMagnumError(w http.ResponseWriter, code int, detail string) {
	kind := "client"
	if code >= 500 {
		kind = "server"
	}
	title, _, _ := strings.Cut(detail, ".")
	writeJSON(w, code, map[string]any{"errors": []any{map[string]any{
		"request_id": "", "code": kind, "status": code, "title": title, "detail": detail, "links": []any{},
	}}})
}

// writeKeystoneError is keystone's (and keystonemiddleware's) error body.
func writeKeystoneError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code": code, "title": http.StatusText(code), "message": message,
	}})
}

func writeUnauthorized(w http.ResponseWriter, identityURI string) {
	w.Header().Set("WWW-Authenticate", `Keystone uri="`+identityURI+`"`)
	writeKeystoneError(w, http.StatusUnauthorized, "The request you have made requires authentication.")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	writeBody(w, code, "application/json", b)
}

func writeBody(w http.ResponseWriter, code int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
