package magnumtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"
)

// Release selects which Magnum API generation is emulated.
type Release int

const (
	Mitaka  Release = iota // bay_uuid, no microversion headers
	Newton                 // cluster_uuid (bay_uuid accepted), container-infra 1.1–1.3
	Current                // cluster_uuid only, container-infra 1.1–1.11
)

// Options configure a Cloud. The zero value is a Mitaka cloud over HTTP.
type Options struct {
	Release Release
	// TLS serves both APIs over HTTPS with httptest's certificate.
	TLS bool
	// Now is the clock for tokens and signing; default time.Now.
	Now func() time.Time
	// Policy is the [x509] configuration; zero means DefaultPolicy.
	Policy *Policy
	// TokenTTL is Keystone's token lifetime; default one hour.
	TokenTTL time.Duration
	// Listen, when set, gives the listener each API ("keystone",
	// "magnum") serves on, e.g. one inside a container's network
	// namespace; default a new one on 127.0.0.1.
	Listen func(service string) (net.Listener, error)
}

// Cloud is one Keystone and one Magnum sharing users, tokens and clusters.
type Cloud struct {
	Keystone, Magnum *httptest.Server

	mu       sync.Mutex
	opts     Options
	policy   Policy
	users    map[string]*user
	trusts   map[string]*trust
	tokens   map[string]*token
	clusters map[string]*Cluster
	faults   []*Fault
	requests []Request
	// inflight counts handlers that have not recorded their request yet;
	// settled is signalled when it drops to zero.
	inflight int
	settled  *sync.Cond
}

type user struct {
	id, name, password string
	admin              bool
}

type trust struct {
	id, trustor, trustee, project string
	impersonation                 bool
}

type token struct {
	user, trust string
	expires     time.Time
}

// Cluster is a bay/cluster with its CA.
type Cluster struct {
	UUID, Name, Owner string
	// Trustee is the cluster's trustee user (Newton+ cluster_user rule).
	Trustee string
	CA      *CA
}

// Request is one call as the emulator saw it (secrets omitted).
type Request struct {
	Service    string // "keystone" or "magnum"
	Method     string
	Path       string
	APIVersion string   // OpenStack-API-Version header
	Fields     []string // top-level JSON fields of the body
	Body       string   // request body (never holds a token; checked by tests for key leaks)
	Status     int
	// User and Trust identify the valid X-Auth-Token a Magnum call carried
	// (ids, never the token): whose token it was and the trust it is
	// scoped to, "" for none. Empty User: no valid token.
	User, Trust string
}

// New starts a Cloud on loopback; Close stops it.
func New(o Options) *Cloud {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	c := &Cloud{opts: o, policy: DefaultPolicy(), users: map[string]*user{}, trusts: map[string]*trust{},
		tokens: map[string]*token{}, clusters: map[string]*Cluster{}}
	c.settled = sync.NewCond(&c.mu)
	if o.Policy != nil {
		c.policy = *o.Policy
	}
	start := func(service string, h http.Handler) *httptest.Server {
		s := httptest.NewUnstartedServer(h)
		if o.Listen != nil {
			ln, err := o.Listen(service)
			if err != nil {
				panic(fmt.Sprintf("magnumtest: listen for %s: %v", service, err))
			}
			s.Listener.Close()
			s.Listener = ln
		}
		// A client refusing the test certificate is what a test expects;
		// the server's "TLS handshake error" lines are noise.
		s.Config.ErrorLog = log.New(io.Discard, "", 0)
		if o.TLS {
			s.StartTLS()
		} else {
			s.Start()
		}
		return s
	}
	c.Keystone = start("keystone", c.wrap("keystone", http.HandlerFunc(c.serveKeystone)))
	c.Magnum = start("magnum", c.wrap("magnum", http.HandlerFunc(c.serveMagnum)))
	return c
}

// Close stops both servers.
func (c *Cloud) Close() {
	c.Keystone.Close()
	c.Magnum.Close()
}

// AuthURL is Keystone's v3 root, as AUTH_URL would name it.
func (c *Cloud) AuthURL() string { return c.Keystone.URL + "/v3" }

// MagnumURL is the API root, as MAGNUM_URL names it.
func (c *Cloud) MagnumURL() string { return c.Magnum.URL + "/v1" }

// AddUser creates a user and returns its id.
func (c *Cloud) AddUser(name, password string, admin bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := &user{id: keystoneID(), name: name, password: password, admin: admin}
	c.users[u.id] = u
	return u.id
}

// UserToken mints a token for a user, as Magnum captured the creator's
// token into USER_TOKEN.
func (c *Cloud) UserToken(userID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mintLocked(userID, "")
}

// ExpireToken makes a token fail from now on.
func (c *Cloud) ExpireToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tokens[tok]; t != nil {
		t.expires = time.Time{}
	}
}

// AddTrust delegates from trustor to trustee; Magnum's trusts impersonate.
func (c *Cloud) AddTrust(trustor, trustee string, impersonation bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &trust{id: keystoneID(), trustor: trustor, trustee: trustee, project: keystoneID(), impersonation: impersonation}
	c.trusts[t.id] = t
	return t.id
}

// AddCluster creates a cluster owned by owner, with a fresh CA.
func (c *Cloud) AddCluster(name, owner, trustee string) (*Cluster, error) {
	ca, err := NewCA(name, c.opts.Now(), c.Policy().TermOfValidity)
	if err != nil {
		return nil, err
	}
	cl := &Cluster{UUID: uuid4(), Name: name, Owner: owner, Trustee: trustee, CA: ca}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clusters[cl.UUID] = cl
	return cl, nil
}

// Policy returns the current [x509] configuration.
func (c *Cloud) Policy() Policy {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.policy
}

// SetPolicy changes the [x509] configuration (e.g. a short term).
func (c *Cloud) SetPolicy(p Policy) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.policy = p
}

// Requests returns every call so far, in order. It first waits for the
// handlers still running: a client may have its answer before the handler
// has returned and recorded the call.
func (c *Cloud) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.inflight > 0 {
		c.settled.Wait()
	}
	return slices.Clone(c.requests)
}

// Count returns how many calls matched service and method.
func (c *Cloud) Count(service, method string) int {
	n := 0
	for _, r := range c.Requests() {
		if r.Service == service && r.Method == method {
			n++
		}
	}
	return n
}

func (c *Cloud) mintLocked(userID, trustID string) string {
	id := "gAAAAA" + keystoneID() + keystoneID()
	c.tokens[id] = &token{user: userID, trust: trustID, expires: c.opts.Now().Add(c.opts.TokenTTL)}
	return id
}

// validTokenLocked is keystonemiddleware's check: known and not expired.
func (c *Cloud) validTokenLocked(id string) *token {
	t := c.tokens[id]
	if t == nil || !c.opts.Now().Before(t.expires) {
		return nil
	}
	return t
}

func keystoneID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func uuid4() string {
	b := uuid4Int().FillBytes(make([]byte, 16))
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
