package steps

import (
	"crypto/x509"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// The metadata public IPv4 becomes a SAN only when the service answers an
// IPv4 address in time; otherwise the step goes on without it (Mitaka put
// an empty "IP:" in the config and openssl failed, §9.5). It is asked
// once, never retried, and within the short deadline.
func TestMakeCertMetadataPublicIPv4(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		delay  time.Duration
		url    string // instead of the test's metadata server
		want   string // the SAN, "" for none
	}{
		{name: "answers", status: http.StatusOK, body: "198.51.100.7\n", want: "IP:198.51.100.7"},
		{name: "no floating IP: empty", status: http.StatusOK, body: ""},
		{name: "404", status: http.StatusNotFound, body: "Not Found"},
		{name: "500", status: http.StatusInternalServerError, body: "oops"},
		{name: "not an address", status: http.StatusOK, body: "<html>captive portal</html>"},
		{name: "IPv6", status: http.StatusOK, body: "2001:db8::7"},
		{name: "silent past the deadline", status: http.StatusOK, body: "198.51.100.7", delay: 30 * time.Second},
		{name: "nothing listening", url: "http://127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cloud := newCertCloud(t, magnumtest.Options{})
			n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), masterAddrs)
			n.meta.answer(tc.status, tc.body, tc.delay)
			if tc.url != "" {
				n.settings.MetadataURL = tc.url
			}
			r := n.mustRun()
			s := n.readIssued("server", x509.ExtKeyUsageServerAuth)
			want := slices.DeleteFunc(slices.Clone(masterWant), func(s string) bool { return s == "IP:"+metadataIP })
			if tc.want != "" {
				want = append(want, tc.want)
			}
			if err := sameSANs(s.cert, want...); err != nil {
				t.Error(err)
			}
			conf := n.read(certConfDir + "/server.conf")
			if sans := confSANs(t, conf); slices.Contains(sans, "IP:") || slices.Contains(sans, "DNS:") || slices.Contains(sans, "") {
				t.Errorf("empty SAN in %v", sans)
			}
			if tc.url == "" && len(n.meta.hits()) != 1 {
				t.Errorf("metadata asked %d times, want once", len(n.meta.hits()))
			}
			// "A short deadline": a few seconds, whatever the constant says.
			if r.took > 5*time.Second {
				t.Errorf("took %v: the metadata lookup is not bounded by a short deadline", r.took)
			}
			if tc.want == "" {
				mustContain(t, "log", r.log, "no public IPv4 from the metadata service; no SAN for it")
			}
		})
	}
}

// The metadata base URL is the agent setting metadata_url, settable as
// HEATSTRAP_METADATA_URL; the step asks <base>/latest/meta-data/public-ipv4.
func TestMakeCertMetadataURLFromEnvironment(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
	n.meta.answer(http.StatusOK, "198.51.100.8", 0)
	t.Setenv("HEATSTRAP_METADATA_URL", n.meta.URL+"/")
	s, err := config.LoadSettings(nil, "/none", false, func(string) ([]byte, error) { return nil, os.ErrNotExist })
	if err != nil {
		t.Fatal(err)
	}
	if s.MetadataURL != n.meta.URL+"/" {
		t.Fatalf("metadata_url %q", s.MetadataURL)
	}
	s.Root, s.CertKeyAlgorithm = n.root, keyECDSAP256
	n.settings = s
	n.mustRun()
	if hits := n.meta.hits(); !slices.Equal(hits, []string{"/latest/meta-data/public-ipv4"}) {
		t.Errorf("metadata requests %v", hits)
	}
	if !slices.Contains(mustSANs(t, n.readIssued("server", x509.ExtKeyUsageServerAuth).cert), "IP:198.51.100.8") {
		t.Error("no SAN for the metadata public IPv4")
	}
}

// Where each master SAN comes from, and what is left out rather than put
// in empty or invalid.
func TestMakeCertMasterSANSources(t *testing.T) {
	kube := []string{"DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"}
	for _, tc := range []struct {
		name     string
		params   map[string]string
		hostname *string // nil: the skeleton's heatstrap-demo
		want     []string
		warn     string
	}{
		{name: "API addresses as DNS names", params: map[string]string{"KUBE_API_PUBLIC_ADDRESS": "API.Example.com", "KUBE_API_PRIVATE_ADDRESS": "api.internal"},
			want: []string{"DNS:api.example.com", "DNS:api.internal", "IP:10.0.0.4", "IP:10.254.0.1", "DNS:heatstrap-demo"}},
		{name: "empty public address", params: map[string]string{"KUBE_API_PUBLIC_ADDRESS": "", "NODE_ROLE": "master"},
			want: []string{"IP:10.0.0.5", "IP:10.0.0.4", "IP:10.254.0.1", "DNS:heatstrap-demo"}},
		{name: "node IP equal to the private VIP, once", params: map[string]string{"KUBE_NODE_IP": "10.0.0.5"},
			want: []string{"IP:203.0.113.10", "IP:10.0.0.5", "IP:10.254.0.1", "DNS:heatstrap-demo"}},
		{name: "another service network", params: map[string]string{"PORTAL_NETWORK_CIDR": "10.96.0.0/12"},
			want: []string{"IP:203.0.113.10", "IP:10.0.0.5", "IP:10.0.0.4", "IP:10.96.0.1", "DNS:heatstrap-demo"}},
		{name: "hostname upper case, with a newline", hostname: ptr("Master-0\n"),
			want: []string{"IP:203.0.113.10", "IP:10.0.0.5", "IP:10.0.0.4", "IP:10.254.0.1", "DNS:master-0"}},
		{name: "hostname not a DNS name", hostname: ptr("master_0"),
			want: []string{"IP:203.0.113.10", "IP:10.0.0.5", "IP:10.0.0.4", "IP:10.254.0.1"}, warn: `level=WARN msg="hostname is not a valid DNS name; no SAN for it"`},
		{name: "no hostname", hostname: ptr(""),
			want: []string{"IP:203.0.113.10", "IP:10.0.0.5", "IP:10.0.0.4", "IP:10.254.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := newCertCloud(t, magnumtest.Options{})
			params := map[string]string{}
			for _, m := range []map[string]string{masterAddrs, tc.params} {
				for k, v := range m {
					params[k] = v
				}
			}
			n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), params)
			n.meta.answer(http.StatusNotFound, "", 0)
			if tc.hostname != nil {
				n.write("/etc/hostname", *tc.hostname, 0o644)
			}
			r := n.mustRun()
			s := n.readIssued("server", x509.ExtKeyUsageServerAuth)
			want := append(append([]string{"IP:127.0.0.1"}, tc.want...), kube...)
			if err := sameSANs(s.cert, want...); err != nil {
				t.Error(err)
			}
			if got := confSANs(t, n.read(certConfDir+"/server.conf")); !sameSet(got, want) {
				t.Errorf("server.conf subjectAltName %v, want %v", got, want)
			}
			if tc.warn != "" {
				mustContain(t, "log", r.log, tc.warn)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
