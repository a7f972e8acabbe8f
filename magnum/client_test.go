package magnum_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/magnum"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

func TestMain(m *testing.M) {
	os.Setenv(httpclient.LoopbackOnlyEnv, "1")
	os.Exit(m.Run())
}

// fast is the production client with test-sized waits: the same retry
// policy, backoff and classification, milliseconds instead of seconds.
func fast(t *testing.T, o httpclient.Options) *http.Client {
	t.Helper()
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = 2 * time.Second
	}
	o.RetryWaitMin, o.RetryWaitMax = time.Millisecond, 5*time.Millisecond
	c, err := httpclient.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c.StandardClient()
}

type fixture struct {
	*magnumtest.Cloud
	owner, trustee, trust string
	cluster               *magnumtest.Cluster
}

func newFixture(t *testing.T, o magnumtest.Options) *fixture {
	t.Helper()
	c := magnumtest.New(o)
	t.Cleanup(c.Close)
	f := &fixture{Cloud: c}
	f.owner = c.AddUser("demo", "demo-pw", false)
	f.trustee = c.AddUser("trustee", "trustee-pw", false)
	f.trust = c.AddTrust(f.owner, f.trustee, true)
	cl, err := c.AddCluster("k8s", f.owner, f.trustee)
	if err != nil {
		t.Fatal(err)
	}
	f.cluster = cl
	return f
}

func (f *fixture) userToken() magnum.Auth {
	return magnum.Auth{UserToken: config.NewSecret(f.UserToken(f.owner))}
}

func (f *fixture) trustAuth() magnum.Auth {
	return magnum.Auth{AuthURL: f.AuthURL(), TrusteeUserID: f.trustee, TrusteePassword: config.NewSecret("trustee-pw"), TrustID: f.trust}
}

func (f *fixture) dial(t *testing.T, a magnum.Auth, hc *http.Client) *magnum.Client {
	t.Helper()
	if hc == nil {
		hc = fast(t, httpclient.Options{})
	}
	cl, err := magnum.Dial(context.Background(), magnum.Config{URL: f.MagnumURL(), HTTP: hc, Auth: a, UserAgent: "heatstrap/test"})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func newCSR(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "kubernetes.invalid"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// Both credentials against each API generation: the dialect (version
// header, bay_uuid or cluster_uuid) follows what the server showed in its
// answer to the CA request, and the certificate chains to the cluster CA.
func TestDialectsAndAuthModes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release magnumtest.Release
		trust   bool
		// want: the version header of GET and POST, and the POST's fields
		getVersion, postVersion string
		postFields              []string
	}{
		{"mitaka user token", magnumtest.Mitaka, false, "", "", []string{"bay_uuid", "csr"}},
		// Trust credentials assume Newton; a Mitaka answer corrects it.
		{"mitaka trust", magnumtest.Mitaka, true, "container-infra latest", "", []string{"bay_uuid", "csr"}},
		{"newton user token", magnumtest.Newton, false, "", "container-infra latest", []string{"cluster_uuid", "csr"}},
		{"newton trust", magnumtest.Newton, true, "container-infra latest", "container-infra latest", []string{"cluster_uuid", "csr"}},
		{"current user token", magnumtest.Current, false, "", "container-infra latest", []string{"cluster_uuid", "csr"}},
		{"current trust", magnumtest.Current, true, "container-infra latest", "container-infra latest", []string{"cluster_uuid", "csr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, magnumtest.Options{Release: tc.release})
			auth, mode, trust := f.userToken(), magnum.ModeUserToken, ""
			if tc.trust {
				auth, mode, trust = f.trustAuth(), magnum.ModeTrust, f.trust
			}
			cl := f.dial(t, auth, nil)
			if cl.Mode() != mode {
				t.Errorf("mode %s, want %s", cl.Mode(), mode)
			}
			cas, err := cl.CA(context.Background(), f.cluster.UUID)
			if err != nil {
				t.Fatal(err)
			}
			if len(cas) != 1 || !cas[0].Equal(f.cluster.CA.Cert) {
				t.Fatalf("CA %v", cas)
			}
			if cl.Newer() != (tc.release != magnumtest.Mitaka) {
				t.Errorf("Newer() = %v on %v", cl.Newer(), tc.release)
			}
			cert, err := cl.Sign(context.Background(), f.cluster.UUID, newCSR(t))
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AddCert(cas[0])
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("signed certificate does not chain: %v", err)
			}

			reqs := f.Requests()
			wantKeystone := 0
			if tc.trust {
				wantKeystone = 1
				if reqs[0].Service != "keystone" || reqs[0].Path != "/v3/auth/tokens" || reqs[0].Status != http.StatusCreated {
					t.Errorf("first request %+v, want the token issue", reqs[0])
				}
			}
			if f.Count("keystone", http.MethodPost) != wantKeystone || len(reqs) != wantKeystone+2 {
				t.Fatalf("requests %+v", reqs)
			}
			get, post := reqs[wantKeystone], reqs[wantKeystone+1]
			if get.Path != "/v1/certificates/"+f.cluster.UUID || get.APIVersion != tc.getVersion {
				t.Errorf("GET %s with version %q, want %q", get.Path, get.APIVersion, tc.getVersion)
			}
			if post.Path != "/v1/certificates" || post.APIVersion != tc.postVersion || !slices.Equal(post.Fields, tc.postFields) {
				t.Errorf("POST %s version %q fields %v, want %q %v", post.Path, post.APIVersion, post.Fields, tc.postVersion, tc.postFields)
			}
			// USER_TOKEN is sent as X-Auth-Token as it is; the trust token
			// acts as the trustor (Magnum's trusts impersonate).
			for _, r := range []magnumtest.Request{get, post} {
				if r.User != f.owner || r.Trust != trust {
					t.Errorf("%s %s carried a token of %q/%q, want %q/%q", r.Method, r.Path, r.User, r.Trust, f.owner, trust)
				}
			}
		})
	}
}

func TestAuthMode(t *testing.T) {
	s := config.NewSecret
	for _, tc := range []struct {
		name string
		a    magnum.Auth
		mode magnum.Mode
		err  string
	}{
		{"user token", magnum.Auth{UserToken: s("t")}, magnum.ModeUserToken, ""},
		{"trust wins over a token", magnum.Auth{UserToken: s("t"), AuthURL: "http://k/v3", TrusteeUserID: "u", TrusteePassword: s("p"), TrustID: "x"}, magnum.ModeTrust, ""},
		{"half a trust", magnum.Auth{UserToken: s("t"), TrusteeUserID: "u", TrustID: "x"}, "",
			"incomplete trust credentials: TRUSTEE_USER_ID, TRUST_ID set but TRUSTEE_PASSWORD missing"},
		{"trust without keystone", magnum.Auth{TrusteeUserID: "u", TrusteePassword: s("p"), TrustID: "x"}, "",
			"trust credentials are set but AUTH_URL is empty: no Keystone to ask for a token"},
		{"nothing", magnum.Auth{}, "", "no credentials for Magnum: USER_TOKEN is empty and no TRUSTEE_USER_ID/TRUSTEE_PASSWORD/TRUST_ID are set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.a.Mode()
			if m != tc.mode || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
				t.Errorf("Mode() = %q, %v; want %q, %q", m, err, tc.mode, tc.err)
			}
		})
	}
}

func TestKeystoneV3(t *testing.T) {
	for in, want := range map[string]string{
		"http://keystone:5000/v2.0":  "http://keystone:5000/v3",
		"http://keystone:5000/v2.0/": "http://keystone:5000/v3",
		"https://keystone/v3":        "https://keystone/v3",
		"http://keystone:5000":       "http://keystone:5000/v3",
		"http://host/identity/v2.0":  "http://host/identity/v3",
	} {
		if got, err := magnum.KeystoneV3(in); err != nil || got != want {
			t.Errorf("KeystoneV3(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "keystone:5000", "ftp://k/v3", "http:///v3"} {
		if _, err := magnum.KeystoneV3(bad); err == nil {
			t.Errorf("KeystoneV3(%q) accepted", bad)
		}
	}
}
