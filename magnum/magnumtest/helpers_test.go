package magnumtest_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// TestMain keeps the package on loopback (the emulator listens there).
func TestMain(m *testing.M) {
	os.Setenv(httpclient.LoopbackOnlyEnv, "1")
	os.Exit(m.Run())
}

// now is a whole second: certificates store times in seconds.
var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// clock is a settable time source shared with the emulator's goroutines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// world is a cloud with the cast every test needs: the cluster's owner,
// a stranger, an admin, the cluster's trustee and its trust.
type world struct {
	*magnumtest.Cloud
	owner, stranger, admin, trustee, trust string
	cluster                                *magnumtest.Cluster
}

func newWorld(t *testing.T, o magnumtest.Options) *world {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return now }
	}
	c := magnumtest.New(o)
	t.Cleanup(c.Close)
	w := &world{Cloud: c}
	w.owner = c.AddUser("demo", "demo-pw", false)
	w.stranger = c.AddUser("other", "other-pw", false)
	w.admin = c.AddUser("admin", "admin-pw", true)
	w.trustee = c.AddUser("k8s_trustee", "trustee-pw", false)
	w.trust = c.AddTrust(w.owner, w.trustee, true)
	cl, err := c.AddCluster("k8s", w.owner, w.trustee)
	if err != nil {
		t.Fatal(err)
	}
	w.cluster = cl
	return w
}

type answer struct {
	status int
	header http.Header
	raw    string
	doc    map[string]any
}

// fields is the sorted list of top-level JSON fields of the answer.
func (a answer) fields() []string {
	var out []string
	for k := range a.doc {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// detail is Magnum's errors[0].detail or keystone's error.message.
func (a answer) detail() string {
	if errs, ok := a.doc["errors"].([]any); ok && len(errs) > 0 {
		d, _ := errs[0].(map[string]any)["detail"].(string)
		return d
	}
	if e, ok := a.doc["error"].(map[string]any); ok {
		m, _ := e["message"].(string)
		return m
	}
	return ""
}

// call is a plain net/http request: the emulator is checked against the
// wire format, not against heatstrap's client.
func call(t *testing.T, method, url, token string, headers map[string]string, body any) answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if resp.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(raw, &a.doc); err != nil {
			t.Fatalf("%s %s: %d with a JSON content type but not JSON: %q", method, url, a.status, raw)
		}
	}
	return a
}

func (w *world) get(t *testing.T, ident, token string, headers map[string]string) answer {
	t.Helper()
	return call(t, http.MethodGet, w.MagnumURL()+"/certificates/"+ident, token, headers, nil)
}

func (w *world) post(t *testing.T, token string, headers map[string]string, body any) answer {
	t.Helper()
	return call(t, http.MethodPost, w.MagnumURL()+"/certificates", token, headers, body)
}

func expect(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: HTTP %d, want %d: %s", what, a.status, status, a.raw)
	}
}

// csrPEM is a CSR of a fresh P-256 key with the given subject and extra
// extensions, as an openssl config would have produced it.
func csrPEM(t *testing.T, subject pkix.Name, exts ...pkix.Extension) (string, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, ExtraExtensions: exts}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), key
}

func parseCert(t *testing.T, text string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(text))
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", text)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
