package heattest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures the emulator. The zero value is ready to use.
type Options struct {
	// TokenTTL is keystone's [token] expiration; default 3600 s (§1).
	TokenTTL time.Duration
	// Now is used for token expiry and the WaitCondition clock; default time.Now.
	Now func() time.Time
	// Logf receives the engine log lines Heat would write, e.g.
	// "Metadata failed validation for <handle>" (§2); optional.
	Logf func(format string, args ...any)

	// PublicURL is the base URL written into endpoints, curl_cli, the
	// keystone catalog and WWW-Authenticate. Default: the NewServer listener,
	// or for New the scheme and Host of each request. Set it when serving
	// Handler on your own listener (e.g. inside a network namespace).
	PublicURL string
	// SignalDelay postpones applying each accepted signal, to widen the gap
	// between "200 null" and the signal taking effect (§4a "queued").
	SignalDelay time.Duration
	// OnChange is called, without locks held and possibly concurrently,
	// after every state change (signal stored, WC or stack status changed).
	OnChange func()
}

// Request is one HTTP request as the emulator received it.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	Code         int // status answered; 0 when the connection was dropped
}

// Server is the emulated heat-api plus keystone v3.
type Server struct {
	opts Options
	ts   *httptest.Server

	mu         sync.Mutex
	cond       *sync.Cond // pending/queue/closed changes
	changed    chan struct{}
	closed     bool
	stacks     []*stack
	users      map[string]*user
	projects   map[string]*project
	tokens     map[string]*token
	admin      string // cached AdminToken
	heatDomain string // the stack user domain, created on first use
	requests   []Request
	failN      int
	failCode   int
	dropN      int
	queue      []signalJob
	pending    int // accepted signals not yet applied (queued or in flight)

	stop chan struct{}
	wg   sync.WaitGroup
}

const maxBodyRead = 64 << 20

// NewServer starts the emulator on an httptest listener bound to 127.0.0.1.
func NewServer(opts Options) *Server {
	s := New(opts)
	s.ts = httptest.NewUnstartedServer(s.Handler()) // listens on 127.0.0.1 only
	if s.opts.PublicURL == "" {
		s.opts.PublicURL = "http://" + s.ts.Listener.Addr().String()
	}
	s.ts.Start()
	return s
}

// New creates the emulator without a listener; serve Handler yourself and
// set Options.PublicURL so endpoints point at your listener.
func New(opts Options) *Server {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 3600 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	s := &Server{
		opts:     opts,
		changed:  make(chan struct{}),
		users:    map[string]*user{},
		projects: map[string]*project{},
		tokens:   map[string]*token{},
		stop:     make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.mu)
	s.wg.Add(2)
	go s.worker()
	go s.ticker()
	return s
}

// URL is the base URL, e.g. http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.opts.PublicURL }

// Handler serves the same routes as the NewServer listener.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Close stops the listener, the WC ticker and the signal worker. Signals
// still queued are discarded.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	close(s.stop)
	if s.ts != nil {
		s.ts.Close()
	}
	s.wg.Wait()
}

// FailNext makes the next n signal POSTs answer code (e.g. 503) with a
// fault body before any Heat processing; they are not processed.
func (s *Server) FailNext(n int, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, code
}

// DropConnections makes the next n signal POSTs close the connection
// without answering. It takes precedence over FailNext.
func (s *Server) DropConnections(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropN = n
}

// Requests returns every request received (test routes excepted), in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

func (s *Server) baseURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// notify wakes WaitFor callers and runs OnChange; call it without s.mu.
func (s *Server) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.opts.OnChange != nil {
		s.opts.OnChange()
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// oslo request_id middleware is outermost: every answer carries it.
	w.Header()["x-openstack-request-id"] = []string{"req-" + newUUID()}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBodyRead))
	path := r.URL.Path
	if path == "/test" || strings.HasPrefix(path, "/test/") {
		s.serveTestAPI(w, r)
		return
	}
	rw := &recorder{ResponseWriter: w, s: s,
		req: Request{Method: r.Method, Path: path, Header: r.Header.Clone(), Body: body}}
	if s.injectFault(rw, r) {
		return
	}
	switch {
	case path == "/v3" || path == "/v3/":
		s.serveIdentityVersion(rw, r)
	case path == "/v3/auth/tokens":
		s.serveTokens(rw, r, body)
	case strings.HasPrefix(path, "/v1/"):
		s.serveHeatAPI(rw, r, body)
	default:
		writePlainNotFound(rw)
	}
}

// injectFault applies DropConnections/FailNext to signal POSTs.
func (s *Server) injectFault(rw *recorder, r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/v1/") || !strings.HasSuffix(r.URL.Path, "/signal") {
		return false
	}
	s.mu.Lock()
	drop, fail, code := s.dropN > 0, s.failN > 0, s.failCode
	switch {
	case drop:
		s.dropN--
		s.requests = append(s.requests, rw.req)
		rw.wrote = true
	case fail:
		s.failN--
	}
	s.mu.Unlock()
	switch {
	case drop:
		conn, _, err := http.NewResponseController(rw.ResponseWriter).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
		}
		_ = conn.Close()
		return true
	case fail:
		writeWebobFault(rw, code, "")
		return true
	}
	return false
}

// recorder logs the request when the status is decided, i.e. before the
// client can see the answer, so Requests() is never behind the client.
type recorder struct {
	http.ResponseWriter
	s     *Server
	req   Request
	wrote bool
}

func (rw *recorder) WriteHeader(code int) {
	if !rw.wrote {
		rw.wrote = true
		rw.req.Code = code
		rw.s.mu.Lock()
		rw.s.requests = append(rw.s.requests, rw.req)
		rw.s.mu.Unlock()
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	return rw.ResponseWriter.Write(b)
}

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// ticker re-evaluates every WaitCondition once a second, like the 1 s
// TaskRunner poll in check_create_complete (§3), so timeouts fire without
// new signals.
func (s *Server) ticker() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			stacks := slices.Clone(s.stacks)
			s.mu.Unlock()
			for _, st := range stacks {
				s.refresh(st)
			}
		}
	}
}
