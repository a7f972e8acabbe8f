package magnum_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/magnum"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// Final answers an operator must be able to act on, each exactly once
// (4xx are never retried).
func TestErrorsSayWhatToDo(t *testing.T) {
	f := newFixture(t, magnumtest.Options{Release: magnumtest.Newton})
	ctx := context.Background()
	stranger := f.AddUser("other", "other-pw", false)
	var errs []string

	t.Run("401 USER_TOKEN", func(t *testing.T) {
		tok := f.UserToken(f.owner)
		f.ExpireToken(tok)
		before := len(f.Requests())
		_, err := f.dial(t, magnum.Auth{UserToken: config.NewSecret(tok)}, nil).CA(ctx, f.cluster.UUID)
		const want = "Magnum rejected USER_TOKEN (expired? Mitaka reuses the creator's token on scale-up; use trust credentials)"
		if err == nil || err.Error() != want || !errors.Is(err, magnum.ErrUserTokenRejected) {
			t.Fatalf("got %v, want exactly %q", err, want)
		}
		var ae *magnum.APIError
		if !errors.As(err, &ae) || ae.Code != http.StatusUnauthorized {
			t.Errorf("not an APIError 401: %#v", err)
		}
		if n := len(f.Requests()) - before; n != 1 {
			t.Errorf("%d requests for a 401, want 1 (no retry)", n)
		}
	})
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"403 policy", func() error {
			_, err := f.dial(t, magnum.Auth{UserToken: config.NewSecret(f.UserToken(stranger))}, nil).CA(ctx, f.cluster.UUID)
			return err
		}, "Magnum policy forbids certificate:get on cluster " + f.cluster.UUID + " for this token's user (certificate:* is admin_or_user: the token's user must own the cluster): Policy doesn't allow certificate:get to be performed."},
		{"403 policy on POST", func() error {
			_, err := f.dial(t, magnum.Auth{UserToken: config.NewSecret(f.UserToken(stranger))}, nil).Sign(ctx, f.cluster.UUID, newCSR(t))
			return err
		}, "Magnum policy forbids certificate:create on cluster " + f.cluster.UUID},
		{"404 unknown cluster", func() error {
			_, err := f.dial(t, f.userToken(), nil).CA(ctx, "7e57c0de-0000-4000-8000-000000000000")
			return err
		}, "Magnum knows no cluster 7e57c0de-0000-4000-8000-000000000000 (BAY_UUID; deleted?): Cluster 7e57c0de-0000-4000-8000-000000000000 could not be found."},
		// certificate.py answers a POST naming an unknown cluster with 400.
		{"400 unknown cluster on POST", func() error {
			_, err := f.dial(t, f.userToken(), nil).Sign(ctx, "gone", newCSR(t))
			return err
		}, "Magnum knows no cluster gone (BAY_UUID; deleted?)"},
		{"400 malformed CSR", func() error {
			_, err := f.dial(t, f.userToken(), nil).Sign(ctx, f.cluster.UUID, []byte("not a CSR"))
			return err
		}, "Magnum refused POST certificates as malformed: Invalid CSR"},
		{"keystone 401", func() error {
			a := f.trustAuth()
			a.TrusteePassword = config.NewSecret("wrong")
			_, err := magnum.Dial(ctx, magnum.Config{URL: f.MagnumURL(), HTTP: fast(t, httpclient.Options{}), Auth: a})
			return err
		}, "keystone rejected TRUSTEE_USER_ID/TRUSTEE_PASSWORD (user " + f.trustee + "): The request you have made requires authentication."},
		{"keystone 404 trust", func() error {
			a := f.trustAuth()
			a.TrustID = "deadbeef"
			_, err := magnum.Dial(ctx, magnum.Config{URL: f.MagnumURL(), HTTP: fast(t, httpclient.Options{}), Auth: a})
			return err
		}, "keystone knows no trust deadbeef (deleted with the cluster?): Could not find trust: deadbeef."},
		{"keystone 403 trustee", func() error {
			a := f.trustAuth()
			a.TrusteeUserID, a.TrusteePassword = stranger, config.NewSecret("other-pw")
			_, err := magnum.Dial(ctx, magnum.Config{URL: f.MagnumURL(), HTTP: fast(t, httpclient.Options{}), Auth: a})
			return err
		}, "keystone refused a token for trust " + f.trust + " to trustee " + stranger + " (not this trust's trustee?)"},
		{"bad MAGNUM_URL", func() error {
			_, err := magnum.Dial(ctx, magnum.Config{URL: "magnum:9511/v1", HTTP: http.DefaultClient, Auth: f.userToken()})
			return err
		}, `MAGNUM_URL "magnum:9511/v1" is not an http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.Requests())
			err := tc.run()
			if err != nil {
				errs = append(errs, err.Error())
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s...", err, tc.want)
			}
			if n := len(f.Requests()) - before; n > 2 {
				t.Errorf("%d requests: a 4xx was retried", n)
			}
		})
	}
	// No error quotes a secret (the passwords sent) or a request body.
	for _, e := range errs {
		for _, secret := range []string{"wrong", "other-pw", "trustee-pw", "-----BEGIN"} {
			if strings.Contains(e, secret) {
				t.Errorf("error quotes %q: %s", secret, e)
			}
		}
	}
}

// 5xx and timeouts are retried with backoff, and a server that never
// recovers is reported with the number of attempts.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	t.Run("503 then success", func(t *testing.T) {
		f := newFixture(t, magnumtest.Options{})
		f.Inject(magnumtest.Fault{Service: "magnum", Method: http.MethodGet, Times: 2, Status: http.StatusServiceUnavailable, Body: "busy"})
		f.Inject(magnumtest.Fault{Service: "magnum", Method: http.MethodPost, Times: 1, Status: http.StatusBadGateway})
		cl := f.dial(t, f.userToken(), nil)
		if _, err := cl.CA(ctx, f.cluster.UUID); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Sign(ctx, f.cluster.UUID, newCSR(t)); err != nil {
			t.Fatal(err)
		}
		if g, p := f.Count("magnum", http.MethodGet), f.Count("magnum", http.MethodPost); g != 3 || p != 2 {
			t.Errorf("%d GETs and %d POSTs, want 3 and 2", g, p)
		}
	})
	t.Run("500 for good", func(t *testing.T) {
		f := newFixture(t, magnumtest.Options{})
		f.Inject(magnumtest.Fault{Service: "magnum", Status: http.StatusInternalServerError, ContentType: "application/json",
			Body: `{"errors":[{"status":500,"code":"server","title":"boom","detail":"conductor unreachable"}]}`})
		hc := fast(t, httpclient.Options{RetryMax: 3})
		_, err := f.dial(t, f.userToken(), hc).CA(ctx, f.cluster.UUID)
		want := "Magnum answered HTTP 500 to GET certificates/" + f.cluster.UUID + " after 4 attempts: conductor unreachable"
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
		if n := f.Count("magnum", http.MethodGet); n != 4 {
			t.Errorf("%d attempts, want 4", n)
		}
	})
	t.Run("timeout then success", func(t *testing.T) {
		f := newFixture(t, magnumtest.Options{})
		f.Inject(magnumtest.Fault{Service: "magnum", Method: http.MethodGet, Times: 1, Delay: 5 * time.Second})
		start := time.Now()
		cl := f.dial(t, f.userToken(), fast(t, httpclient.Options{AttemptTimeout: 200 * time.Millisecond}))
		if _, err := cl.CA(ctx, f.cluster.UUID); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("took %v: the slow attempt was not cut at its deadline", took)
		}
		if n := f.Count("magnum", http.MethodGet); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
	t.Run("keystone 503", func(t *testing.T) {
		f := newFixture(t, magnumtest.Options{Release: magnumtest.Newton})
		f.Inject(magnumtest.Fault{Service: "keystone", Times: 1, Status: http.StatusServiceUnavailable})
		f.dial(t, f.trustAuth(), nil)
		if n := f.Count("keystone", http.MethodPost); n != 2 {
			t.Errorf("%d token requests, want 2", n)
		}
	})
}

// Answers that are not what the API promises are clear errors.
func TestUnusableAnswers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, magnumtest.Options{})
	other, err := magnumtest.NewCA("other", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, body, ctype string
		want                      string
	}{
		{"HTML 200 to GET", http.MethodGet, "<html>proxy says hi</html>", "text/html", "Magnum's answer to GET certificates/" + f.cluster.UUID + " is not the expected JSON"},
		{"no pem in GET", http.MethodGet, `{"bay_uuid":"x","links":[]}`, "application/json", `Magnum's answer to GET certificates/` + f.cluster.UUID + ` is unusable: the answer has no "pem" field (or it is empty)`},
		{"null GET", http.MethodGet, `null`, "application/json", `is unusable: the answer has no "pem" field`},
		{"pem not PEM", http.MethodGet, `{"pem":"hello"}`, "application/json", `is unusable: "pem" holds no PEM certificate`},
		{"pem not a CA", http.MethodGet, `{"pem":` + jsonString(leafPEM(t, other)) + `}`, "application/json", "is not a CA certificate"},
		{"HTML 201 to POST", http.MethodPost, "<html/>", "text/html", "Magnum's answer to POST certificates is not the expected JSON"},
		{"no pem in POST", http.MethodPost, `{"bay_uuid":"x","csr":"y"}`, "application/json", `Magnum's answer to POST certificates is unusable: the answer has no "pem" field`},
		{"wrong type", http.MethodPost, `{"pem":42}`, "application/json", "is not the expected JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status := http.StatusOK
			if tc.method == http.MethodPost {
				status = http.StatusCreated
			}
			f.Inject(magnumtest.Fault{Service: "magnum", Method: tc.method, Times: 1, Status: status, Body: tc.body, ContentType: tc.ctype})
			cl := f.dial(t, f.userToken(), nil)
			if tc.method == http.MethodGet {
				_, err = cl.CA(ctx, f.cluster.UUID)
			} else {
				_, err = cl.Sign(ctx, f.cluster.UUID, newCSR(t))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

func leafPEM(t *testing.T, ca *magnumtest.CA) string {
	t.Helper()
	b, err := ca.Sign(newCSR(t), magnumtest.DefaultPolicy(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jsonString(s string) string {
	return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"`
}

// The OpenStack endpoints over TLS: trusted through a CA bundle, refused
// without one (not retried: the certificate will not change), accepted
// in insecure mode.
func TestTLS(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, magnumtest.Options{Release: magnumtest.Newton, TLS: true})
	bundle := filepath.Join(t.TempDir(), "openstack-ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Magnum.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    httpclient.Options
		err  string
	}{
		{"CA bundle", httpclient.Options{CABundle: bundle}, ""},
		{"insecure", httpclient.Options{Insecure: true}, ""},
		{"system roots only", httpclient.Options{}, "certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.Requests())
			cl, err := magnum.Dial(ctx, magnum.Config{URL: f.MagnumURL(), HTTP: fast(t, tc.o), Auth: f.trustAuth()})
			if err == nil {
				_, err = cl.CA(ctx, f.cluster.UUID)
			}
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" {
				var uae x509.UnknownAuthorityError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &uae) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				if n := len(f.Requests()) - before; n != 0 {
					t.Errorf("%d requests reached the server through an untrusted TLS handshake", n)
				}
			}
		})
	}
}
