package steps

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

const insecureWarning = "TLS verification of Keystone and Magnum is disabled (insecure): the token and the CA can be intercepted"

// Keystone and Magnum behind HTTPS with a private CA: refused without
// the CA bundle (once, not retried, nothing sent), accepted with it, and
// accepted in insecure mode only with a warning in the log.
func TestMakeCertEndpointTLS(t *testing.T) {
	bundle := func(t *testing.T, c *certCloud) string {
		p := filepath.Join(t.TempDir(), "openstack-ca.pem")
		data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Magnum.Certificate().Raw})
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		trust     bool
		configure func(t *testing.T, c *certCloud, s *config.Settings)
		wantErr   string
		warned    bool
	}{
		{name: "no CA bundle", wantErr: "x509: certificate signed by unknown authority"},
		{name: "no CA bundle, trust", trust: true, wantErr: "x509: certificate signed by unknown authority"},
		{name: "CA bundle", configure: func(t *testing.T, c *certCloud, s *config.Settings) { s.CABundle = bundle(t, c) }},
		{name: "CA bundle, trust", trust: true, configure: func(t *testing.T, c *certCloud, s *config.Settings) { s.CABundle = bundle(t, c) }},
		{name: "CA bundle missing", configure: func(t *testing.T, c *certCloud, s *config.Settings) { s.CABundle = "/nonexistent/ca.pem" },
			wantErr: "read CA bundle: open /nonexistent/ca.pem"},
		{name: "insecure", configure: func(t *testing.T, c *certCloud, s *config.Settings) { s.Insecure = true }, warned: true},
		{name: "insecure, trust", trust: true, configure: func(t *testing.T, c *certCloud, s *config.Settings) { s.Insecure = true }, warned: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := newCertCloud(t, magnumtest.Options{Release: magnumtest.Newton, TLS: true})
			params := cloud.userTokenParams()
			if tc.trust {
				params = cloud.trustParams()
			}
			if !strings.HasPrefix(params["MAGNUM_URL"], "https://") {
				t.Fatalf("MAGNUM_URL %s", params["MAGNUM_URL"])
			}
			n := newCertNode(t, config.RoleMaster, cloud, params, nil)
			if tc.configure != nil {
				tc.configure(t, cloud, &n.settings)
			}
			r := n.run()
			if tc.wantErr != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", r.err, tc.wantErr)
				}
				if got := cloud.Requests(); len(got) != 0 {
					t.Errorf("the cloud got requests over an unverified connection: %+v", got)
				}
				if strings.Contains(r.log, "retrying request") {
					t.Errorf("a refused certificate was retried:\n%s", r.log)
				}
				n.checkNoDebris()
				return
			}
			if r.err != nil {
				t.Fatalf("err = %v\n%s", r.err, r.log)
			}
			n.readIssued("server", x509.ExtKeyUsageServerAuth)
			if _, _, ks := cloud.calls(); tc.trust && ks != 1 {
				t.Errorf("%d keystone calls over TLS", ks)
			}
			if warned := strings.Contains(r.log, "level=WARN msg=\""+insecureWarning+"\""); warned != tc.warned {
				t.Errorf("insecure warning logged: %v, want %v\n%s", warned, tc.warned, r.log)
			}
		})
	}
}
