package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/heat/heattest"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// publicIP is what the node's metadata service says its floating IP is.
const publicIP = "172.24.4.77"

// Magnum's default: TLS on. make-cert gets the node's certificate from
// Magnum's certificate API (emulated, on the container's loopback, with a
// real CA that signs), the apiserver serves HTTPS with it, and the gate
// reaches /healthz over HTTPS trusting only the cluster CA. A rerun asks
// Magnum for nothing.
func TestMasterBootstrapTLS(t *testing.T) {
	n := bootNode(t, "hs-e2e-tls", nodeOpts{})
	cloud := magnumtest.New(magnumtest.Options{Listen: func(string) (net.Listener, error) { return n.Listen("127.0.0.1:0") }})
	t.Cleanup(cloud.Close)
	owner := cloud.AddUser("demo", "secret", false)
	cluster, err := cloud.AddCluster("k8s-e2e", owner, "")
	if err != nil {
		t.Fatal(err)
	}
	n.serveMetadata(t)
	for k, v := range map[string]string{
		"TLS_DISABLED": "False", "KUBE_API_PORT": "6443", "BAY_UUID": cluster.UUID,
		"MAGNUM_URL": cloud.MagnumURL(), "AUTH_URL": cloud.AuthURL(), "USER_TOKEN": cloud.UserToken(owner),
	} {
		n.params[k] = v
	}
	n.writeParams()

	start := time.Now()
	if out, code := n.agent("launch"); code != 0 {
		t.Fatalf("launch: exit %d\n%s", code, out)
	}
	if st := n.waitWC(3 * time.Minute); st != heattest.StatusComplete {
		out, _ := n.Exec("journalctl", "-u", "heatstrap", "--no-pager", "-n", "40")
		_, reason := n.wc.Status()
		t.Fatalf("wait condition %s: %s\n%s", st, reason, out)
	}
	t.Logf("launch to SUCCESS with TLS (RSA 4096 key): %s", time.Since(start).Round(time.Millisecond))
	if out := n.Must("journalctl", "-u", "heatstrap", "-o", "cat", "--no-pager", "STEP=master-wc-notify"); !strings.Contains(out, "gate passed step=master-wc-notify gate=apiserver-healthy") {
		t.Errorf("the apiserver gate did not pass:\n%s", out)
	}

	// The certificate chains to the cluster's CA and names the node as
	// clients reach it, the floating IP from the metadata service too.
	cert := readCert(t, filepath.Join(n.Root, "srv/kubernetes/server.crt"))
	roots := x509.NewCertPool()
	roots.AddCert(cluster.CA.Cert)
	for _, name := range []string{publicIP, nodeIP, "127.0.0.1", "10.254.0.1", "kubernetes.default.svc.cluster.local"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("server.crt for %s: %v", name, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(n.Root, "srv/kubernetes/server.key")); err != nil || fi.Mode().Perm() != 0o400 {
		t.Errorf("server.key: %v %v", fi.Mode(), err)
	}
	// What the apiserver serves on KUBE_API_PORT is that certificate.
	err = n.InNetNS(func() error {
		conn, err := tls.Dial("tcp", net.JoinHostPort(nodeIP, "6443"), &tls.Config{RootCAs: roots, ServerName: nodeIP})
		if err != nil {
			return err
		}
		defer conn.Close()
		if !conn.ConnectionState().PeerCertificates[0].Equal(cert) {
			return errors.New("the apiserver serves another certificate")
		}
		return nil
	})
	if err != nil {
		t.Errorf("TLS to the apiserver on %s:6443: %v", nodeIP, err)
	}

	calls := len(cloud.Requests())
	if calls != 2 {
		t.Errorf("Magnum saw %d calls, want the CA fetch and the signing: %+v", calls, cloud.Requests())
	}
	if out, code := n.agent("run", "--step", "make-cert", "--force"); code != 0 {
		t.Fatalf("make-cert again: exit %d\n%s", code, out)
	}
	if got := cloud.Requests(); len(got) != calls {
		t.Errorf("a rerun of make-cert called Magnum: %+v", got[calls:])
	}
	if again := readCert(t, filepath.Join(n.Root, "srv/kubernetes/server.crt")); !again.Equal(cert) {
		t.Error("a rerun of make-cert re-issued the certificate")
	}
	for _, r := range cloud.Requests() {
		if strings.Contains(r.Body, n.params["USER_TOKEN"]) || strings.Contains(r.Body, "PRIVATE KEY") {
			t.Errorf("a request carried a secret: %+v", r)
		}
	}
}

// serveMetadata answers the metadata service's public-ipv4 on the
// container's loopback, where the agent config points it.
func (n *node) serveMetadata(t *testing.T) {
	ln, err := n.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/latest/meta-data/public-ipv4", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, publicIP) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	n.Write("/etc/heatstrap/config.yaml", []byte("metadata_url: http://"+ln.Addr().String()+"\n"), 0o644)
}

func readCert(t *testing.T, p string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", p)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
