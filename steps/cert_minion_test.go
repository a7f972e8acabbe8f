package steps

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// mitakaKubeconfig is what Mitaka's write-kubeconfig left for make-cert
// to sed (spec N4): placeholders instead of paths.
const mitakaKubeconfig = `apiVersion: v1
kind: Config
users:
- name: kubeclient
  user:
    client-certificate: CLIENT_CERT
    client-key: CLIENT_KEY
clusters:
- name: kubernetes
  cluster:
    certificate-authority: CA_CERT
contexts:
- context:
    cluster: kubernetes
    user: kubeclient
  name: service-account-context
current-context: service-account-context
`

// The minion's client certificate (§5.2): CN=kubernetes.invalid, keyUsage
// critical digitalSignature+keyEncipherment, clientAuth only, SANs
// dirName:kubelet and dirName:kube-proxy, no address; the metadata
// service is not asked. A kubeconfig with Mitaka's placeholders gets the
// paths and becomes kube:kube.
func TestMakeCertMinion(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{Release: magnumtest.Mitaka})
	n := newCertNode(t, config.RoleMinion, cloud, cloud.userTokenParams(), nil)
	n.settings.CertKeyAlgorithm = keyRSA2048
	n.write(kubeconfigPath, mitakaKubeconfig, 0o644)
	n.mustRun()

	s := n.readIssued("client", x509.ExtKeyUsageClientAuth)
	if err := sameSANs(s.cert, "dirName:CN=kubelet", "dirName:CN=kube-proxy"); err != nil {
		t.Error(err)
	}
	if len(s.cert.IPAddresses)+len(s.cert.DNSNames) != 0 {
		t.Errorf("client certificate names addresses %v %v", s.cert.IPAddresses, s.cert.DNSNames)
	}
	if _, err := s.cert.Verify(x509.VerifyOptions{Roots: poolOf(s.ca), CurrentTime: cloud.clock.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("the client certificate is also accepted as a server certificate")
	}
	if want := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment; s.cert.KeyUsage != want {
		t.Errorf("keyUsage %b, want digitalSignature|keyEncipherment", s.cert.KeyUsage)
	}
	for _, ext := range s.cert.Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 15}) && !ext.Critical {
			t.Error("keyUsage is not critical")
		}
	}
	if got := keyAlg(s.key); got != keyRSA2048 {
		t.Errorf("key %s, want the configured rsa-2048", got)
	}
	if hits := n.meta.hits(); len(hits) != 0 {
		t.Errorf("a minion asked the metadata service: %v", hits)
	}

	for path, want := range map[string]string{
		srvDir: "0500 kube:kube", certConfDir: "0755 kube:kube", certConfDir + "/client.conf": "0644 kube:kube",
		caCertPath: "0644 kube:kube", srvDir + "/client.key": "0400 kube:kube",
		srvDir + "/client.csr": "0644 kube:kube", srvDir + "/client.crt": "0644 kube:kube",
	} {
		n.checkMeta(path, want)
	}
	n.checkNoDebris("ca.crt", "client.key", "client.csr", "client.crt", "conf/client.conf", "kubeconfig.yaml")
	conf := n.read(certConfDir + "/client.conf")
	mustContain(t, "client.conf", conf, "CN = kubernetes.invalid", "keyUsage = critical,digitalSignature,keyEncipherment",
		"extendedKeyUsage = clientAuth\n", "subjectAltName = dirName:kubelet,dirName:kubeproxy\n",
		"[kubelet]\nCN = kubelet\n", "[kubeproxy]\nCN = kube-proxy\n")

	var kc kubeconfigV1
	decodeStrict(t, "kubeconfig", n.checkMeta(kubeconfigPath, "0644 kube:kube"), &kc)
	if len(kc.Clusters) != 1 || kc.Clusters[0].Cluster.CertificateAuthority != caCertPath ||
		len(kc.Users) != 1 || kc.Users[0].User.ClientCertificate != srvDir+"/client.crt" || kc.Users[0].User.ClientKey != srvDir+"/client.key" ||
		kc.CurrentContext != "service-account-context" || len(kc.Contexts) != 1 || kc.Contexts[0].Context.User != "kubeclient" {
		t.Errorf("kubeconfig after make-cert: %+v", kc)
	}

	// A rerun leaves the rewritten kubeconfig alone.
	before := n.stamps()
	if r := n.mustRun(); len(r.changed) != 0 {
		t.Errorf("rerun changed %v", r.changed)
	}
	if after := n.stamps(); after["kubeconfig.yaml"] != before["kubeconfig.yaml"] {
		t.Error("rerun rewrote the kubeconfig")
	}
}

// A kubeconfig written by write-kubeconfig (paths, not placeholders) is
// not rewritten; make-cert only makes it kube:kube as chown -R did.
func TestMakeCertMinionKeepsRenderedKubeconfig(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	n := newCertNode(t, config.RoleMinion, cloud, cloud.userTokenParams(), nil)
	n.testNode.mustRun(runOpts{}, writeKubeconfig)
	want := n.read(kubeconfigPath)
	n.write(kubeconfigPath, want, 0o600) // root:root 0600
	n.mustRun()
	if got := n.checkMeta(kubeconfigPath, "0644 kube:kube"); got != want {
		t.Errorf("kubeconfig rewritten:\n%s", got)
	}
}

// The configured algorithm decides the key; ECDSA gets no keyEncipherment
// (it cannot encipher), RSA does. An algorithm the step does not know is
// refused before anything is written or asked.
func TestMakeCertKeyAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		alg  string
		want x509.KeyUsage
	}{
		{keyRSA2048, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{keyECDSAP256, x509.KeyUsageDigitalSignature},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			cloud := newCertCloud(t, magnumtest.Options{})
			n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
			n.settings.CertKeyAlgorithm = tc.alg
			n.mustRun()
			s := n.readIssued("server", x509.ExtKeyUsageServerAuth)
			if got := keyAlg(s.key); got != tc.alg {
				t.Errorf("key %s", got)
			}
			if s.cert.KeyUsage != tc.want {
				t.Errorf("keyUsage %b, want %b", s.cert.KeyUsage, tc.want)
			}
			mustContain(t, "server.conf", n.read(certConfDir+"/server.conf"), "("+tc.alg+")")
		})
	}
	t.Run("unknown", func(t *testing.T) {
		cloud := newCertCloud(t, magnumtest.Options{})
		n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
		n.settings.CertKeyAlgorithm = "dsa-1024"
		r := n.run()
		if r.err == nil || !strings.Contains(r.err.Error(), `cert_key_algorithm "dsa-1024" in the agent config: must be one of rsa-4096, rsa-2048, ecdsa-p256`) {
			t.Errorf("err = %v", r.err)
		}
		if len(cloud.Requests()) != 0 || len(r.changed) != 0 {
			t.Errorf("calls %v, changed %v", cloud.Requests(), r.changed)
		}
	})
}

// The key never leaves the node and is never logged: no request body and
// no log line holds any part of it; neither holds USER_TOKEN or the
// trustee password.
func TestMakeCertKeyNeverLeaves(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{Release: magnumtest.Newton})
	params := cloud.trustParams()
	n := newCertNode(t, config.RoleMaster, cloud, params, nil)
	n.settings.CertKeyAlgorithm = keyRSA2048
	r := n.mustRun()
	b, _ := pem.Decode([]byte(n.read(srvDir + "/server.key")))
	key, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// PKCS#1 holds the public modulus first (which the CSR carries too);
	// everything from the private exponent on is secret. Any 24-character
	// slice of its base64 (as in the key file) or hex is far too specific
	// to occur by chance.
	off := bytes.Index(b.Bytes, key.D.Bytes())
	enc := base64.StdEncoding.EncodeToString(b.Bytes)[(off+2)/3*4:]
	var secrets []string
	for i := 0; i+24 <= len(enc); i += 24 {
		secrets = append(secrets, enc[i:i+24])
	}
	for _, v := range []*big.Int{key.D, key.Primes[0], key.Primes[1]} {
		secrets = append(secrets, v.Text(16)[:24], v.Text(10)[:24])
	}
	secrets = append(secrets, "PRIVATE KEY", params["USER_TOKEN"], trusteePassword)
	var bodies []string
	for _, req := range cloud.Requests() {
		bodies = append(bodies, req.Body)
	}
	if !strings.Contains(strings.Join(bodies, "\n"), "BEGIN CERTIFICATE REQUEST") {
		t.Fatal("the CSR was not among the request bodies; the check below would prove nothing")
	}
	for _, sec := range secrets {
		for _, where := range []struct{ name, text string }{{"a request body", strings.Join(bodies, "\n")}, {"the log", r.log}} {
			if strings.Contains(where.text, sec) {
				t.Errorf("%s holds %q", where.name, sec)
			}
		}
	}
}

// make-cert reads only the heat-params it declares: run with its Reads
// and with every param (as checkReadsOnlyDeclared, but keys and serials
// differ by nature, so requests, names, modes and the request config are
// compared instead of bytes).
func TestMakeCertReadsOnlyDeclared(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	for _, role := range []config.Role{config.RoleMaster, config.RoleMinion} {
		var results []string
		for _, full := range []bool{false, true} {
			n := newCertNode(t, role, cloud, cloud.userTokenParams(), masterOnly(role))
			n.full = full
			before := len(cloud.Requests())
			n.mustRun()
			var desc []string
			for _, r := range cloud.Requests()[before:] {
				desc = append(desc, r.Method+" "+r.Path+" "+strings.Join(r.Fields, ","))
			}
			for _, p := range n.entries() {
				desc = append(desc, p+" "+n.testNode.meta(srvDir+"/"+p))
			}
			conf := map[config.Role]string{config.RoleMaster: "server.conf", config.RoleMinion: "client.conf"}[role]
			desc = append(desc, n.read(certConfDir+"/"+conf), n.read(caCertPath))
			results = append(results, strings.Join(desc, "\n"))
		}
		if results[0] != results[1] {
			t.Errorf("%s: make-cert reads undeclared params:\nwith Reads:\n%s\nwith all params:\n%s", role, results[0], results[1])
		}
	}
}

func masterOnly(role config.Role) map[string]string {
	if role == config.RoleMaster {
		return masterAddrs
	}
	return nil
}
