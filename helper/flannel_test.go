package helper

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// etcdV2 mimics etcd 2.x's keys API for PUT (what etcd 3.7 no longer
// serves): form field value, 201 + node on create, 200 + prevNode on
// overwrite, X-Etcd-Index, JSON errors with errorCode/message/cause.
type etcdV2 struct {
	mu    sync.Mutex
	keys  map[string]string
	index int
	puts  int
}

func (s *etcdV2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ok := strings.CutPrefix(r.URL.Path, "/v2/keys")
	if !ok || key == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPut {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	s.puts++
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		// etcd would read no form and store "" – fail loudly instead.
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errorCode":209,"message":"Invalid field","cause":"content-type %s"}`, ct)
		return
	}
	if err := r.ParseForm(); err != nil || !r.PostForm.Has("value") {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"errorCode":200,"message":"Value is Required in POST form"}`)
		return
	}
	s.index++
	node := map[string]any{"key": key, "value": r.PostForm.Get("value"), "modifiedIndex": s.index, "createdIndex": s.index}
	resp := map[string]any{"action": "set", "node": node}
	code := http.StatusCreated
	if old, exists := s.keys[key]; exists {
		resp["prevNode"] = map[string]any{"key": key, "value": old}
		code = http.StatusOK
	}
	s.keys[key] = r.PostForm.Get("value")
	w.Header().Set("X-Etcd-Index", fmt.Sprint(s.index))
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(resp)
}

func TestFlannelConfigV2(t *testing.T) {
	t.Parallel()
	v2 := &etcdV2{keys: map[string]string{}}
	srv := httptest.NewServer(v2)
	defer srv.Close()
	o := flannelOpts(t, srv.URL)
	o.API = "v2"
	for range 2 { // create (201), then overwrite (200): both succeed
		if err := FlannelConfig(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	v2.mu.Lock()
	defer v2.mu.Unlock()
	if got := v2.keys["/atomic.io/network/config"]; got != networkJSON {
		t.Errorf("stored %q, want the file %q (keys: %v)", got, networkJSON, v2.keys)
	}
	if v2.puts != 2 {
		t.Errorf("%d PUTs, want 2", v2.puts)
	}
}

// The v3 gateway answers 503 while etcd has no leader; that is "not up
// yet". The second endpoint is tried in the same round after the first
// refuses the connection.
func TestFlannelConfigV3RetriesUnavailableAndRotatesEndpoints(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var stored atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v3/kv/put" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
			return
		}
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"etcdserver: no leader","code":14,"message":"etcdserver: no leader"}`)
			return
		}
		var body struct{ Key, Value string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		k, _ := base64.StdEncoding.DecodeString(body.Key)
		v, _ := base64.StdEncoding.DecodeString(body.Value)
		stored.Store(string(k) + "=" + string(v))
		fmt.Fprint(w, `{"header":{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"2"}}`)
	}))
	defer srv.Close()
	dead := loopbackURL(freePort(t))
	o := flannelOpts(t, dead, srv.URL)
	log, sink := testLogger(t)
	o.Log = log
	if err := FlannelConfig(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls to the live endpoint, want 3 (two 503, then success)", n)
	}
	if got := stored.Load(); got != "/atomic.io/network/config="+networkJSON {
		t.Errorf("stored %q", got)
	}
	// Progress is logged at most every 10 s: one line for this short wait.
	if n := strings.Count(sink.String(), "does not accept the flannel config yet"); n != 1 {
		t.Errorf("%d progress lines, want 1:\n%s", n, sink)
	}
	if !strings.Contains(sink.String(), "no leader") || !strings.Contains(sink.String(), "connection refused") {
		t.Errorf("progress line lacks the causes:\n%s", sink)
	}
}

func TestFlannelConfigPermanentErrorFailsFast(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"etcdserver: user name is empty","code":16,"message":"etcdserver: user name is empty"}`)
	}))
	defer srv.Close()
	o := flannelOpts(t, srv.URL)
	start := time.Now()
	err := FlannelConfig(context.Background(), o)
	mustContain(t, err, "etcd at "+srv.URL+" refused the flannel config (/atomic.io/network/config)", "HTTP 401", "user name is empty")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s; a 401 must not be retried", took)
	}
}

func TestFlannelConfigInterrupted(t *testing.T) {
	t.Parallel()
	o := flannelOpts(t, loopbackURL(freePort(t)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // SIGTERM stand-in
	defer cancel()
	mustContain(t, FlannelConfig(ctx, o), "interrupted after", "connection refused")
}

// Local problems are reported before any request: the server fails the
// test on contact.
func TestFlannelConfigChecksBeforeNetwork(t *testing.T) {
	t.Parallel()
	var contacted atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contacted.Store(true)
		http.Error(w, "must not be called", http.StatusInternalServerError)
	}))
	defer srv.Close()
	cases := []struct {
		name, file string // file "" = absent
		mutate     func(*FlannelConfigOptions)
		want       []string
	}{
		{"missing file", "", nil, []string{"flannel network config", "/etc/sysconfig/flannel-network.json does not exist", "write-network-config"}},
		{"bad json", `{"Network": "10.100.0.0/16",`, nil, []string{"is not a JSON object", "unexpected end of JSON input"}},
		{"json array", `["10.100.0.0/16"]`, nil, []string{"is not a JSON object"}},
		{"no Network", `{"Subnetlen": 24}`, nil, []string{`has no "Network"`}},
		{"Network not string", `{"Network": 10}`, nil, []string{`"Network" is 10, not a string`}},
		{"Network not CIDR", `{"Network": "10.100.0.0"}`, nil, []string{`"Network" "10.100.0.0" is not an IPv4 CIDR`}},
		{"Network IPv6", `{"Network": "fd00::/64"}`, nil, []string{"is not an IPv4 CIDR"}},
		{"no endpoints", networkJSON, func(o *FlannelConfigOptions) { o.Endpoints = nil }, []string{"no etcd endpoint", "FLANNEL_ETCD"}},
		{"endpoint not URL", networkJSON, func(o *FlannelConfigOptions) { o.Endpoints = []string{"127.0.0.1:2379"} }, []string{`"127.0.0.1:2379" is not an http(s) URL`}},
		{"bad api", networkJSON, func(o *FlannelConfigOptions) { o.API = "v4" }, []string{`etcd API "v4": must be v3 or v2`}},
		{"relative prefix", networkJSON, func(o *FlannelConfigOptions) { o.Prefix = "atomic.io" }, []string{"must start with /", "FLANNEL_ETCD_KEY"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files, root := newRoot(t)
			if c.file != "" {
				put(t, root, DefaultFlannelNetworkFile, c.file)
			}
			o := FlannelConfigOptions{Files: files, Endpoints: []string{srv.URL}, Timeout: 5 * time.Second}
			if c.mutate != nil {
				c.mutate(&o)
			}
			mustContain(t, FlannelConfig(context.Background(), o), c.want...)
		})
	}
	if contacted.Load() {
		t.Error("etcd was contacted although the input was invalid")
	}
	// Network matched case-insensitively, as flanneld decodes it.
	files, root := newRoot(t)
	put(t, root, DefaultFlannelNetworkFile, `{"network": "10.1.0.0/16"}`)
	if _, err := readFlannelNetwork(files, DefaultFlannelNetworkFile); err != nil {
		t.Errorf("lower-case network: %v", err)
	}
}

func TestFlannelConfigOptionsFromEnv(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	files, root := newRoot(t)
	put(t, root, FlanneldSysconfig, `# Managed by heatstrap (write-network-config); rendered whole on every run.
FLANNEL_ETCD="http://10.0.0.5:2379"
FLANNEL_ETCD_ENDPOINTS="http://10.0.0.6:2379"
FLANNEL_ETCD_KEY="/atomic.io/network"
FLANNEL_OPTIONS=""
`)
	// From the file (run by hand): Mitaka's names win.
	o := FlannelConfigOptionsFromEnv(env(nil), files)
	if fmt.Sprint(o.Endpoints) != "[http://10.0.0.5:2379]" || o.Prefix != "/atomic.io/network" || o.envErr != nil {
		t.Errorf("from file: %v %q %v", o.Endpoints, o.Prefix, o.envErr)
	}
	// The environment (the unit's EnvironmentFile) wins over the file,
	// whichever spelling it uses; lists are comma-separated.
	o = FlannelConfigOptionsFromEnv(env(map[string]string{
		"FLANNEL_ETCD_ENDPOINTS": " http://a:2379, ,http://b:2379 ", "FLANNEL_ETCD_PREFIX": "/coreos.com/network",
	}), files)
	if fmt.Sprint(o.Endpoints) != "[http://a:2379 http://b:2379]" || o.Prefix != "/coreos.com/network" {
		t.Errorf("env + file: %v %q", o.Endpoints, o.Prefix)
	}
	// No file, no env: empty, and FlannelConfig says what is missing.
	empty, _ := newRoot(t)
	o = FlannelConfigOptionsFromEnv(env(nil), empty)
	if o.Endpoints != nil || o.Prefix != "" || o.envErr != nil {
		t.Errorf("empty: %+v", o)
	}
	// A broken file is reported by FlannelConfig, with its line.
	broken, broot := newRoot(t)
	put(t, broot, FlanneldSysconfig, "FLANNEL_ETCD=\"http://x:2379\nFLANNEL_ETCD_KEY=/k\n")
	o = FlannelConfigOptionsFromEnv(env(nil), broken)
	mustContain(t, FlannelConfig(context.Background(), o), "flanneld: line 1 (FLANNEL_ETCD): unterminated double quote")
}
