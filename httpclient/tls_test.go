package httpclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/httpclient"
)

// writeFile puts data into a fresh temp file and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A TLS server signed by a private CA is trusted exactly when that CA is
// given as the bundle (or verification is explicitly off), and an
// untrusted certificate is not retried: waiting will not fix it.
func TestTLSTrust(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("null"))
	}))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	bundle := writeFile(t, "ca.pem", caPEM)
	// Another CA's certificate: a valid bundle that does not sign srv.
	// (Every httptest server shares one built-in certificate, so make one.)
	otherPEM := selfSignedCA(t)
	otherBundle := writeFile(t, "other.pem", otherPEM)
	// Bundles often carry comments and several certificates.
	mixed := writeFile(t, "mixed.pem", append(append([]byte("# site CAs\n"), otherPEM...), caPEM...))

	tests := []struct {
		name  string
		opts  httpclient.Options
		trust bool
	}{
		{"system roots only", httpclient.Options{}, false},
		{"CA bundle", httpclient.Options{CABundle: bundle}, true},
		{"bundle with several CAs", httpclient.Options{CABundle: mixed}, true},
		{"wrong CA bundle", httpclient.Options{CABundle: otherBundle}, false},
		{"insecure", httpclient.Options{Insecure: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.RetryMax, o.RetryWaitMin, o.RetryWaitMax = 3, time.Millisecond, time.Millisecond
			resp, attempts, err := do(t, context.Background(), newClient(t, o), srv.URL)
			if tc.trust {
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("resp %v, err %v; want 200", resp, err)
				}
				return
			}
			var ua x509.UnknownAuthorityError
			if err == nil || !errors.As(err, &ua) {
				t.Fatalf("resp %v, err %v; want an unknown-authority error", resp, err)
			}
			if attempts != 1 {
				t.Errorf("%d attempts: a certificate error must not be retried", attempts)
			}
		})
	}
}

func TestBadCABundle(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope.pem"), "read CA bundle"},
		{"no PEM inside", writeFile(t, "junk.pem", []byte("this is not a certificate\n")), "holds no PEM certificate"},
		{"empty file", writeFile(t, "empty.pem", nil), "holds no PEM certificate"},
		{"PEM of a key, not a certificate", writeFile(t, "key.pem",
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})), "holds no PEM certificate"},
	}
	for _, tc := range tests {
		c, err := httpclient.New(httpclient.Options{CABundle: tc.path})
		if err == nil || c != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, %v; want error %q", tc.name, c, err, tc.want)
		}
		if !strings.Contains(err.Error(), filepath.Base(tc.path)) {
			t.Errorf("%s: error %q does not name the file", tc.name, err)
		}
	}
}

// Zero options mean the documented defaults; a negative RetryMax means
// a single attempt. HTTP_PROXY from the environment is never used.
func TestNewDefaults(t *testing.T) {
	tests := []struct {
		name     string
		opts     httpclient.Options
		retryMax int
		min, max time.Duration
		attempt  time.Duration
	}{
		{"zero", httpclient.Options{}, httpclient.DefaultRetryMax, httpclient.DefaultRetryWaitMin, httpclient.DefaultRetryWaitMax, httpclient.DefaultAttemptTimeout},
		{"no retries", httpclient.Options{RetryMax: -1}, 0, httpclient.DefaultRetryWaitMin, httpclient.DefaultRetryWaitMax, httpclient.DefaultAttemptTimeout},
		{"negative durations", httpclient.Options{RetryWaitMin: -1, RetryWaitMax: -1, AttemptTimeout: -1},
			httpclient.DefaultRetryMax, httpclient.DefaultRetryWaitMin, httpclient.DefaultRetryWaitMax, httpclient.DefaultAttemptTimeout},
		{"explicit", httpclient.Options{RetryMax: 2, RetryWaitMin: time.Second, RetryWaitMax: time.Minute, AttemptTimeout: 3 * time.Second},
			2, time.Second, time.Minute, 3 * time.Second},
	}
	for _, tc := range tests {
		c := newClient(t, tc.opts)
		if c.RetryMax != tc.retryMax || c.RetryWaitMin != tc.min || c.RetryWaitMax != tc.max || c.HTTPClient.Timeout != tc.attempt {
			t.Errorf("%s: RetryMax %d, wait [%v, %v], attempt timeout %v", tc.name, c.RetryMax, c.RetryWaitMin, c.RetryWaitMax, c.HTTPClient.Timeout)
		}
		tr, ok := c.HTTPClient.Transport.(*http.Transport)
		if !ok || tr.Proxy != nil {
			t.Errorf("%s: transport %T uses a proxy function; HTTP_PROXY must not reroute Heat signals", tc.name, c.HTTPClient.Transport)
		}
		if ok && (tr.TLSClientConfig == nil || tr.TLSClientConfig.MinVersion < 0x0303) {
			t.Errorf("%s: TLS config %+v allows less than TLS 1.2", tc.name, tr.TLSClientConfig)
		}
	}
	// The shared default transport is cloned, not modified.
	if http.DefaultTransport.(*http.Transport).Proxy == nil {
		t.Error("New cleared http.DefaultTransport's proxy setting")
	}
}

func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
