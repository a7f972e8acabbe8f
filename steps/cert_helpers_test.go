package steps

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/internal/testenv"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// The make-cert tests run the step against magnumtest (Keystone and
// Magnum on loopback, really signing) and a fake metadata service, with
// one clock shared by the node and the cloud so that validity can be
// moved forward on both sides.

// testClock is the node's and the cloud's clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// certCloud is an emulated cloud holding one cluster, its owner (whose
// token Mitaka put in USER_TOKEN) and a trustee with a trust from the
// owner (Newton's TRUSTEE_*/TRUST_ID).
type certCloud struct {
	*magnumtest.Cloud
	clock                 *testClock
	owner, trustee, trust string
	cluster               *magnumtest.Cluster
}

const trusteePassword = "trustee-secret-pw"

func newCertCloud(t *testing.T, o magnumtest.Options) *certCloud {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	o.Now = clock.Now
	c := magnumtest.New(o)
	t.Cleanup(c.Close)
	cc := &certCloud{Cloud: c, clock: clock}
	cc.owner = c.AddUser("demo", "demo-pw", false)
	cc.trustee = c.AddUser("trustee", trusteePassword, false)
	cc.trust = c.AddTrust(cc.owner, cc.trustee, true)
	cl, err := c.AddCluster("k8s", cc.owner, cc.trustee)
	if err != nil {
		t.Fatal(err)
	}
	cc.cluster = cl
	return cc
}

// userTokenParams are Mitaka's credentials: the owner's token.
func (c *certCloud) userTokenParams() map[string]string {
	return map[string]string{"MAGNUM_URL": c.MagnumURL(), "BAY_UUID": c.cluster.UUID, "USER_TOKEN": c.UserToken(c.owner)}
}

// trustParams are Newton's credentials. USER_TOKEN is still there but
// expired, as on a node added long after the cluster was created: only
// the trust can work.
func (c *certCloud) trustParams() map[string]string {
	stale := c.UserToken(c.owner)
	c.ExpireToken(stale)
	return map[string]string{"MAGNUM_URL": c.MagnumURL(), "BAY_UUID": c.cluster.UUID, "USER_TOKEN": stale,
		"AUTH_URL": c.AuthURL(), "TRUSTEE_USER_ID": c.trustee, "TRUSTEE_PASSWORD": trusteePassword, "TRUST_ID": c.trust}
}

// metadataServer stands in for 169.254.169.254 on loopback. By default it
// answers public-ipv4 like Nova's EC2 API does.
type metadataServer struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	body   string
	delay  time.Duration
	paths  []string
}

const metadataIP = "172.24.4.23"

func newMetadataServer(t *testing.T) *metadataServer {
	t.Helper()
	m := &metadataServer{status: http.StatusOK, body: metadataIP}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.paths = append(m.paths, r.URL.Path)
		status, body, delay := m.status, m.body, m.delay
		m.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if r.URL.Path != "/latest/meta-data/public-ipv4" {
			status, body = http.StatusNotFound, "Not Found"
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *metadataServer) answer(status int, body string, delay time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.body, m.delay = status, body, delay
}

func (m *metadataServer) hits() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.paths...)
}

// certNode is a test node wired to a cloud and a metadata service.
type certNode struct {
	*testNode
	cloud    *certCloud
	meta     *metadataServer
	settings config.Settings
	// attemptTimeout bounds one HTTP attempt where the step leaves it to
	// the default (Magnum, Keystone); test-sized.
	attemptTimeout time.Duration
	// full hands the step every heat-param, not only its Reads.
	full bool
}

// newCertNode makes a node of role with the cloud's credentials (params,
// e.g. userTokenParams) plus overrides, and the kube user in place. Its
// key algorithm is ecdsa-p256 unless a test sets another: RSA 4096 costs
// about a second a key, and the tests that need it say so.
func newCertNode(t *testing.T, role config.Role, cloud *certCloud, params map[string]string, overrides map[string]string) *certNode {
	t.Helper()
	testenv.NeedRoot(t, "make-cert chowns /srv/kubernetes to kube and writes into it at 0500")
	set := map[string]string{}
	for _, m := range []map[string]string{params, overrides} {
		for k, v := range m {
			set[k] = v
		}
	}
	n := newTestNode(t, role, set)
	n.mustRun(runOpts{}, kubeUser)
	c := &certNode{testNode: n, cloud: cloud, meta: newMetadataServer(t), settings: testSettings(n.root), attemptTimeout: 5 * time.Second}
	c.settings.MetadataURL = c.meta.URL
	c.settings.CertKeyAlgorithm = keyECDSAP256
	return c
}

// certRun is what one run of make-cert did.
type certRun struct {
	skipped string
	err     error
	changed []string
	log     string
	took    time.Duration
}

// run runs make-cert as the runner would (When, then Run) with an Env
// built like cmd/heatstrap builds it.
func (c *certNode) run() certRun {
	c.t.Helper()
	return c.runCtx(context.Background())
}

func (c *certNode) runCtx(ctx context.Context) certRun {
	c.t.Helper()
	e := c.certEnv()
	files, changes := c.files.Recording()
	e.Files, e.Units = files, c.backend.For(files, makeCert.Name)
	var buf lockedBuffer
	e.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var r certRun
	start := time.Now()
	if r.skipped = makeCert.When(e); r.skipped == "" {
		r.err = makeCert.Run(ctx, e)
	}
	r.took, r.changed, r.log = time.Since(start), changes.Paths(), buf.String()
	return r
}

// mustRun runs make-cert and fails the test unless it succeeded.
func (c *certNode) mustRun() certRun {
	c.t.Helper()
	r := c.run()
	if r.err != nil || r.skipped != "" {
		c.t.Fatalf("make-cert: err=%v skipped=%q\nlog:\n%s", r.err, r.skipped, r.log)
	}
	return r
}

func (c *certNode) certEnv() *Env {
	e := c.env(makeCert)
	if c.full {
		e.Params = c.params
	}
	e.Settings = c.settings
	e.Now = c.cloud.clock.Now
	e.HTTP = c.httpFactory()
	return e
}

// httpFactory is cmd/heatstrap's (agent CA bundle and insecure mode
// filled in) with test-sized waits and a dialer that refuses anything but
// loopback, so a test that forgets an endpoint fails instead of reaching
// 169.254.169.254 or the internet.
func (c *certNode) httpFactory() func(httpclient.Options) (*retryablehttp.Client, error) {
	s, attempt := c.settings, c.attemptTimeout
	return func(o httpclient.Options) (*retryablehttp.Client, error) {
		if o.CABundle == "" {
			o.CABundle = s.CABundle
		}
		o.Insecure = o.Insecure || s.Insecure
		if o.AttemptTimeout == 0 {
			o.AttemptTimeout = attempt
		}
		o.RetryWaitMin, o.RetryWaitMax = time.Millisecond, 5*time.Millisecond
		cl, err := httpclient.New(o)
		if err != nil {
			return nil, err
		}
		tr := cl.HTTPClient.Transport.(*http.Transport)
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return nil, fmt.Errorf("test refuses to dial %s: loopback only", addr)
			}
			return dial(ctx, network, addr)
		}
		return cl, nil
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fileStamp identifies one version of a file: content, inode, mtime, mode.
type fileStamp struct {
	data  string
	ino   uint64
	mtime time.Time
	mode  fs.FileMode
}

// stamps describes every entry below /srv/kubernetes.
func (c *certNode) stamps() map[string]fileStamp {
	c.t.Helper()
	out := map[string]fileStamp{}
	root := c.hostPath(srvDir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		s := fileStamp{ino: st.Sys().(*syscall.Stat_t).Ino, mtime: st.ModTime(), mode: st.Mode()}
		if st.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s.data = string(b)
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = s
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// entries lists what is below /srv/kubernetes, sorted.
func (c *certNode) entries() []string {
	var out []string
	for p := range c.stamps() {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// checkNoDebris fails if /srv/kubernetes holds anything but want (paths
// relative to it, "." and "conf" implied): no temp file, no partial set.
func (c *certNode) checkNoDebris(want ...string) {
	c.t.Helper()
	want = append([]string{".", "conf"}, want...)
	sort.Strings(want)
	if got := c.entries(); strings.Join(got, " ") != strings.Join(want, " ") {
		c.t.Errorf("/srv/kubernetes holds %q, want exactly %q", got, want)
	}
}

// magnumCalls counts the Magnum and Keystone requests so far.
func (c *certCloud) calls() (get, post, keystone int) {
	for _, r := range c.Requests() {
		switch {
		case r.Service == "keystone":
			keystone++
		case r.Method == http.MethodGet:
			get++
		case r.Method == http.MethodPost:
			post++
		}
	}
	return get, post, keystone
}
