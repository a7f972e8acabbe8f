package steps

import (
	"context"
	"crypto/x509"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// With TLS disabled the step is skipped with that reason; even run
// directly it writes nothing and asks nobody.
func TestMakeCertTLSDisabled(t *testing.T) {
	for _, role := range []config.Role{config.RoleMaster, config.RoleMinion} {
		t.Run(string(role), func(t *testing.T) {
			n := newTestNode(t, role, map[string]string{"TLS_DISABLED": "True"})
			before := tree(t, n.root)
			if why, err := n.run(makeCert); why != "TLS_DISABLED is True: the cluster runs without TLS" || err != nil {
				t.Errorf("skipped %q, err %v", why, err)
			}
			// Run directly (a forced run) must not write or ask either.
			e := n.env(makeCert)
			e.HTTP = func(httpclient.Options) (*retryablehttp.Client, error) {
				t.Error("make-cert built an HTTP client with TLS disabled")
				return nil, context.Canceled
			}
			if err := makeCert.Run(context.Background(), e); err != nil {
				t.Errorf("Run: %v", err)
			}
			if after := tree(t, n.root); !maps.Equal(before, after) {
				t.Errorf("TLS disabled, yet the tree changed")
			}
		})
	}
	// And with TLS on, When lets it run.
	n := newTestNode(t, config.RoleMaster, nil)
	if why := makeCert.When(n.env(makeCert)); why != "" {
		t.Errorf("TLS enabled: When = %q", why)
	}
}

// masterAddrs are the master's heat-params for SAN tests, chosen apart
// from the example file so every SAN is traceable to its source.
var masterAddrs = map[string]string{
	"KUBE_API_PUBLIC_ADDRESS":  "203.0.113.10",
	"KUBE_API_PRIVATE_ADDRESS": "10.0.0.5",
	"KUBE_NODE_IP":             "10.0.0.4",
	"PORTAL_NETWORK_CIDR":      "10.254.0.0/16",
}

// masterWant is every SAN the master's certificate must carry for
// masterAddrs: metadata public IPv4, both API addresses, the node IP,
// loopback, the first service IP, the hostname, the kubernetes names.
var masterWant = []string{
	"IP:" + metadataIP, "IP:203.0.113.10", "IP:10.0.0.5", "IP:10.0.0.4", "IP:127.0.0.1", "IP:10.254.0.1",
	"DNS:heatstrap-demo", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local",
}

// Mitaka: USER_TOKEN as X-Auth-Token, no version header, bay_uuid; the
// default key (RSA 4096, as openssl genrsa 4096); every file of §5.1's
// table with its mode and owner; a server certificate a TLS client of any
// of the API's names accepts.
func TestMakeCertMasterMitaka(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{Release: magnumtest.Mitaka})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), masterAddrs)
	n.settings.CertKeyAlgorithm = testSettings(n.root).CertKeyAlgorithm // the agent's default
	n.mustRun()

	reqs := cloud.Requests()
	if len(reqs) != 2 {
		t.Fatalf("requests: %+v", reqs)
	}
	get, post := reqs[0], reqs[1]
	if get.Method != http.MethodGet || get.Path != "/v1/certificates/"+cloud.cluster.UUID || get.Status != http.StatusOK {
		t.Errorf("first call %s %s -> %d, want GET of the CA", get.Method, get.Path, get.Status)
	}
	if post.Method != http.MethodPost || post.Path != "/v1/certificates" || post.Status != http.StatusCreated ||
		!slices.Equal(post.Fields, []string{"bay_uuid", "csr"}) {
		t.Errorf("second call %s %s %v -> %d, want POST {bay_uuid, csr}", post.Method, post.Path, post.Fields, post.Status)
	}
	for _, r := range reqs {
		if r.User != cloud.owner || r.Trust != "" || r.APIVersion != "" {
			t.Errorf("%s %s: user %q trust %q version %q; want the owner's USER_TOKEN and no version header", r.Method, r.Path, r.User, r.Trust, r.APIVersion)
		}
	}
	if hits := n.meta.hits(); !slices.Equal(hits, []string{"/latest/meta-data/public-ipv4"}) {
		t.Errorf("metadata requests %v", hits)
	}

	s := n.readIssued("server", x509.ExtKeyUsageServerAuth)
	if got := keyAlg(s.key); got != "rsa-4096" {
		t.Errorf("key %s, want rsa-4096 by default", got)
	}
	if err := sameSANs(s.cert, masterWant...); err != nil {
		t.Error(err)
	}
	if err := sameSANs(&x509.Certificate{Extensions: s.csr.Extensions}, masterWant...); err != nil {
		t.Errorf("CSR: %v", err)
	}
	now := cloud.clock.Now()
	for _, san := range masterWant {
		name := san[strings.Index(san, ":")+1:]
		if err := s.verifiesFor(name, x509.ExtKeyUsageServerAuth, now); err != nil {
			t.Errorf("a TLS client of %s would refuse the certificate: %v", name, err)
		}
	}
	if s.verifiesFor("10.0.0.99", x509.ExtKeyUsageServerAuth, now) == nil {
		t.Error("the certificate verifies for an address it does not name")
	}
	if _, err := s.cert.Verify(x509.VerifyOptions{Roots: poolOf(s.ca), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the server certificate is not also a client certificate (extendedKeyUsage clientAuth,serverAuth): %v", err)
	}
	if want := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment; s.cert.KeyUsage != want {
		t.Errorf("keyUsage %b, want digitalSignature|keyEncipherment for RSA", s.cert.KeyUsage)
	}

	for path, want := range map[string]string{
		srvDir: "0500 kube:kube", certConfDir: "0755 kube:kube", certConfDir + "/server.conf": "0644 kube:kube",
		caCertPath: "0644 kube:kube", srvDir + "/server.key": "0400 kube:kube",
		srvDir + "/server.csr": "0644 kube:kube", srvDir + "/server.crt": "0644 kube:kube",
	} {
		n.checkMeta(path, want)
	}
	n.checkNoDebris("ca.crt", "server.key", "server.csr", "server.crt", "conf/server.conf")
	conf := n.read(certConfDir + "/server.conf")
	mustContain(t, "server.conf", conf, "CN = kubernetes.invalid", "keyUsage = critical,digitalSignature,keyEncipherment",
		"extendedKeyUsage = clientAuth,serverAuth", "(rsa-4096)")
	if got := confSANs(t, conf); !sameSet(got, masterWant) {
		t.Errorf("server.conf subjectAltName %v, want %v", got, masterWant)
	}
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// confSANs is the subjectAltName list of a request config.
func confSANs(t *testing.T, conf string) []string {
	t.Helper()
	for _, line := range strings.Split(conf, "\n") {
		if v, ok := strings.CutPrefix(line, "subjectAltName = "); ok {
			return strings.Split(v, ",")
		}
	}
	t.Fatalf("no subjectAltName line in\n%s", conf)
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Both ways to authenticate against each API generation, through the
// step: trust credentials win over a (stale) USER_TOKEN, the version
// header goes to an API that announced one, the cluster field is the one
// the API expects.
func TestMakeCertAuthModes(t *testing.T) {
	const latest = "container-infra latest"
	for _, tc := range []struct {
		name                    string
		release                 magnumtest.Release
		trust                   bool
		getVersion, postVersion string
		postFields              []string
	}{
		{"mitaka user token", magnumtest.Mitaka, false, "", "", []string{"bay_uuid", "csr"}},
		{"mitaka trust", magnumtest.Mitaka, true, latest, "", []string{"bay_uuid", "csr"}},
		{"newton user token", magnumtest.Newton, false, "", latest, []string{"cluster_uuid", "csr"}},
		{"newton trust", magnumtest.Newton, true, latest, latest, []string{"cluster_uuid", "csr"}},
		{"current trust", magnumtest.Current, true, latest, latest, []string{"cluster_uuid", "csr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := newCertCloud(t, magnumtest.Options{Release: tc.release})
			params, trust, keystone := cloud.userTokenParams(), "", 0
			if tc.trust {
				params, trust, keystone = cloud.trustParams(), cloud.trust, 1
			}
			n := newCertNode(t, config.RoleMaster, cloud, params, nil)
			n.mustRun()
			var magnum []magnumtest.Request
			ks := 0
			for _, r := range cloud.Requests() {
				if r.Service == "keystone" {
					ks++
					if r.Method != http.MethodPost || r.Path != "/v3/auth/tokens" || r.Status != http.StatusCreated {
						t.Errorf("keystone call %s %s -> %d", r.Method, r.Path, r.Status)
					}
					continue
				}
				magnum = append(magnum, r)
			}
			if ks != keystone || len(magnum) != 2 {
				t.Fatalf("%d keystone and %d magnum calls, want %d and 2: %+v", ks, len(magnum), keystone, magnum)
			}
			for _, r := range magnum {
				// An impersonating trust acts as the owner (Magnum's trusts).
				if r.User != cloud.owner || r.Trust != trust {
					t.Errorf("%s %s with user %q trust %q, want %q %q", r.Method, r.Path, r.User, r.Trust, cloud.owner, trust)
				}
			}
			if magnum[0].APIVersion != tc.getVersion || magnum[1].APIVersion != tc.postVersion {
				t.Errorf("version headers GET %q POST %q, want %q %q", magnum[0].APIVersion, magnum[1].APIVersion, tc.getVersion, tc.postVersion)
			}
			if !slices.Equal(magnum[1].Fields, tc.postFields) {
				t.Errorf("POST fields %v, want %v", magnum[1].Fields, tc.postFields)
			}
			n.readIssued("server", x509.ExtKeyUsageServerAuth)
		})
	}
}
