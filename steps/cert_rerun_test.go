package steps

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// A rerun over a set that still serves does nothing: no call to Magnum or
// Keystone (so an expired USER_TOKEN does not matter), no change, and
// every file and directory keeps its bytes, inode, mtime and mode.
func TestMakeCertRerunDoesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		role  config.Role
		trust bool
	}{
		{"master user token", config.RoleMaster, false},
		{"master trust", config.RoleMaster, true},
		{"minion user token", config.RoleMinion, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := newCertCloud(t, magnumtest.Options{Release: magnumtest.Newton})
			params := cloud.userTokenParams()
			if tc.trust {
				params = cloud.trustParams()
			}
			n := newCertNode(t, tc.role, cloud, params, masterOnly(tc.role))
			n.mustRun()
			calls := len(cloud.Requests())
			before := n.stamps()
			cloud.ExpireToken(params["USER_TOKEN"])
			cloud.clock.Set(cloud.clock.Now().Add(365 * 24 * time.Hour)) // every token has expired too

			r := n.mustRun()
			if len(r.changed) != 0 {
				t.Errorf("rerun changed %v", r.changed)
			}
			if got := cloud.Requests()[calls:]; len(got) != 0 {
				t.Errorf("rerun called the cloud: %+v", got)
			}
			after := n.stamps()
			if len(after) != len(before) {
				t.Errorf("entries %v, were %v", n.entries(), before)
			}
			for p, st := range before {
				if after[p] != st {
					t.Errorf("rerun touched %s", p)
				}
			}
			mustContain(t, "log", r.log, "certificate still serves; not re-issuing")
		})
	}
}

// Each way a kept set stops serving makes the next run issue a new key and
// certificate, saying why; the run after that is quiet again.
func TestMakeCertReissues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, n *certNode, old *x509.Certificate)
		why    string // in the log's reason
		want   string // a SAN the new certificate must carry, if any
	}{
		{"public address changed", func(_ *testing.T, n *certNode, _ *x509.Certificate) {
			n.params.KubeAPIPublicAddress = "203.0.113.77"
		}, "certificate lacks SANs IP:203.0.113.77", "IP:203.0.113.77"},
		{"hostname changed", func(_ *testing.T, n *certNode, _ *x509.Certificate) {
			n.write("/etc/hostname", "master-1\n", 0o644)
		}, "certificate lacks SANs DNS:master-1", "DNS:master-1"},
		{"metadata public IPv4 changed", func(_ *testing.T, n *certNode, _ *x509.Certificate) {
			n.meta.answer(http.StatusOK, "172.24.4.99", 0)
		}, "certificate lacks SANs IP:172.24.4.99", "IP:172.24.4.99"},
		{"service network changed", func(_ *testing.T, n *certNode, _ *x509.Certificate) {
			n.params.PortalNetworkCIDR = netip.MustParsePrefix("10.96.0.0/12")
		}, "certificate lacks SANs IP:10.96.0.1", "IP:10.96.0.1"},
		{"expires in 29 days", func(_ *testing.T, n *certNode, old *x509.Certificate) {
			n.cloud.clock.Set(old.NotAfter.Add(-29 * 24 * time.Hour))
		}, "in less than 30 days", ""},
		{"expired", func(_ *testing.T, n *certNode, old *x509.Certificate) {
			n.cloud.clock.Set(old.NotAfter.Add(time.Hour))
		}, "certificate is not valid now", ""},
		{"key algorithm changed", func(_ *testing.T, n *certNode, _ *x509.Certificate) {
			n.settings.CertKeyAlgorithm = keyRSA2048
		}, "key is ecdsa-p256, rsa-2048 is configured", ""},
		{"key replaced", func(t *testing.T, n *certNode, _ *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, _ := x509.MarshalECPrivateKey(k)
			n.write(srvDir+"/server.key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), 0o400)
		}, "certificate does not match the key", ""},
		{"key unreadable", func(t *testing.T, n *certNode, _ *x509.Certificate) {
			n.write(srvDir+"/server.key", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", 0o400)
		}, "/srv/kubernetes/server.key: unreadable private key", ""},
		{"ca.crt of another CA", func(t *testing.T, n *certNode, _ *x509.Certificate) {
			other, err := magnumtest.NewCA("other", n.cloud.clock.Now(), 365*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			n.write(caCertPath, other.PEM(), 0o644)
		}, "does not chain to the cluster CA CN=other", ""},
		{"certificate missing", func(t *testing.T, n *certNode, _ *x509.Certificate) {
			if err := os.Remove(n.hostPath(srvDir + "/server.crt")); err != nil {
				t.Fatal(err)
			}
		}, "no /srv/kubernetes/server.crt yet", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := newCertCloud(t, magnumtest.Options{Release: magnumtest.Newton})
			n := newCertNode(t, config.RoleMaster, cloud, cloud.trustParams(), masterAddrs)
			// The kept certificate ends well before the cluster CA, so
			// that expiring is its own problem, not the CA's.
			short := magnumtest.DefaultPolicy()
			short.TermOfValidity = 400 * 24 * time.Hour
			cloud.SetPolicy(short)
			n.mustRun()
			cloud.SetPolicy(magnumtest.DefaultPolicy())
			old := n.readIssued("server", x509.ExtKeyUsageServerAuth)
			tc.change(t, n, old.cert)
			oldKey := n.read(srvDir + "/server.key")
			_, posts, _ := cloud.calls()

			r := n.mustRun()
			if _, p, _ := cloud.calls(); p != posts+1 {
				t.Fatalf("%d POSTs, want one more than %d", p, posts)
			}
			mustContain(t, "log", r.log, "issuing a certificate", tc.why)
			s := n.readIssued("server", x509.ExtKeyUsageServerAuth)
			if s.keyPEM == oldKey || s.keyPEM == old.keyPEM {
				t.Error("re-issued without a new key")
			}
			if s.cert.SerialNumber.Cmp(old.cert.SerialNumber) == 0 {
				t.Error("the certificate was not replaced")
			}
			if got, _ := sanText(s.cert); tc.want != "" && !slices.Contains(got, tc.want) {
				t.Errorf("new certificate lacks %s: %v", tc.want, got)
			}
			if got := s.cert.NotAfter.Sub(cloud.clock.Now()); got <= 30*24*time.Hour {
				t.Errorf("new certificate lasts only %v", got)
			}
			n.checkMeta(srvDir+"/server.key", "0400 kube:kube")
			n.checkMeta(srvDir, "0500 kube:kube")
			n.checkNoDebris("ca.crt", "server.key", "server.csr", "server.crt", "conf/server.conf")

			r = n.mustRun()
			if _, p, _ := cloud.calls(); p != posts+1 || len(r.changed) != 0 {
				t.Errorf("the run after re-issuing: %d POSTs (want %d), changed %v", p, posts+1, r.changed)
			}
		})
	}
}

// Renewal is at 30 days: 31 days before the end the set is kept, and
// make-cert's fingerprint does not move; inside 30 days it says
// renewal=due, so the runner reruns a succeeded make-cert.
func TestMakeCertRenewalBoundary(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{Release: magnumtest.Newton})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.trustParams(), nil)
	n.mustRun()
	cert := n.readIssued("server", x509.ExtKeyUsageServerAuth).cert
	fresh := makeCert.Fingerprint(n.certEnv())
	if extra := certExtra(n.certEnv()); !slices.Equal(extra, []string{"key-algorithm=ecdsa-p256"}) {
		t.Errorf("fresh certificate: Extra %v", extra)
	}

	cloud.clock.Set(cert.NotAfter.Add(-31 * 24 * time.Hour))
	if fp := makeCert.Fingerprint(n.certEnv()); fp != fresh {
		t.Error("fingerprint moved 31 days before the end")
	}
	_, posts, _ := cloud.calls()
	n.mustRun()
	if _, p, _ := cloud.calls(); p != posts {
		t.Errorf("re-issued 31 days before the end")
	}

	cloud.clock.Set(cert.NotAfter.Add(-30*24*time.Hour + time.Minute))
	if extra := certExtra(n.certEnv()); !slices.Contains(extra, "renewal=due") {
		t.Errorf("inside 30 days: Extra %v lacks renewal=due", extra)
	}
	if fp := makeCert.Fingerprint(n.certEnv()); fp == fresh {
		t.Error("fingerprint unchanged inside 30 days: the runner would keep the step")
	}
	n.mustRun()
	if _, p, _ := cloud.calls(); p != posts+1 {
		t.Errorf("%d POSTs inside 30 days, want %d", p, posts+1)
	}
	if extra := certExtra(n.certEnv()); slices.Contains(extra, "renewal=due") {
		t.Errorf("after renewal: Extra %v", extra)
	}
}

// A SAN that is no longer wanted (the metadata service stopped answering)
// is no reason to re-issue: the kept certificate covers every SAN wanted
// now, and the request config keeps describing the certificate kept.
func TestMakeCertKeepsCertificateWithExtraSANs(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
	n.mustRun()
	before := n.stamps()
	n.meta.answer(http.StatusNotFound, "", 0)
	if r := n.mustRun(); len(r.changed) != 0 {
		t.Errorf("changed %v", r.changed)
	}
	for p, st := range n.stamps() {
		if before[p] != st {
			t.Errorf("%s changed", p)
		}
	}
	if _, p, _ := cloud.calls(); p != 1 {
		t.Errorf("%d POSTs", p)
	}
}

// Lost or loosened files around a good certificate are repaired without
// asking Magnum: modes and owners of the table, the CSR rebuilt from the
// kept key, the request config rewritten as it was.
func TestMakeCertRepairsWithoutReissuing(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
	n.mustRun()
	conf := n.read(certConfDir + "/server.conf")
	key := n.read(srvDir + "/server.key")
	for _, p := range []string{srvDir + "/server.csr", certConfDir + "/server.conf"} {
		if err := os.Remove(n.hostPath(p)); err != nil {
			t.Fatal(err)
		}
	}
	for p, mode := range map[string]os.FileMode{srvDir + "/server.key": 0o644, caCertPath: 0o600, srvDir: 0o755, certConfDir: 0o700} {
		if err := os.Chmod(n.hostPath(p), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(n.hostPath(srvDir+"/server.crt"), 0, 0); err != nil {
		t.Fatal(err)
	}
	calls := len(cloud.Requests())

	n.mustRun()
	if got := cloud.Requests()[calls:]; len(got) != 0 {
		t.Errorf("repair called Magnum: %+v", got)
	}
	if n.read(srvDir+"/server.key") != key {
		t.Error("key replaced")
	}
	if got := n.read(certConfDir + "/server.conf"); got != conf {
		t.Errorf("server.conf rewritten differently:\n%s\nwas\n%s", got, conf)
	}
	s := n.readIssued("server", x509.ExtKeyUsageServerAuth) // the new CSR is signed by the kept key
	if err := sameSANs(&x509.Certificate{Extensions: s.csr.Extensions}, mustSANs(t, s.cert)...); err != nil {
		t.Errorf("rebuilt CSR: %v", err)
	}
	for path, want := range map[string]string{
		srvDir: "0500 kube:kube", certConfDir: "0755 kube:kube", caCertPath: "0644 kube:kube",
		srvDir + "/server.key": "0400 kube:kube", srvDir + "/server.crt": "0644 kube:kube", srvDir + "/server.csr": "0644 kube:kube",
	} {
		n.checkMeta(path, want)
	}
}

func mustSANs(t *testing.T, c *x509.Certificate) []string {
	t.Helper()
	s, err := sanText(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A Magnum whose term of validity is inside the renewal margin yields a
// certificate that is used (with a warning saying why) and renewed by
// every run, rather than a node that never gets one.
func TestMakeCertShortTerm(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	p := magnumtest.DefaultPolicy()
	p.TermOfValidity = 10 * 24 * time.Hour
	cloud.SetPolicy(p)
	n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
	r := n.mustRun()
	mustContain(t, "log", r.log, `level=WARN msg="Magnum's term of validity is shorter than the renewal margin; every run will re-issue"`)
	n.readIssued("server", x509.ExtKeyUsageServerAuth)
	n.mustRun()
	if _, posts, _ := cloud.calls(); posts != 2 {
		t.Errorf("%d POSTs, want 2", posts)
	}
}
