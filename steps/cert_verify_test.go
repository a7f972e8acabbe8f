package steps

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// issuedSet is a node's certificate files read back with crypto/x509
// alone (none of the step's own parsing), so the tests judge the result
// independently of the code that made it.
type issuedSet struct {
	ca     *x509.Certificate
	cert   *x509.Certificate
	csr    *x509.CertificateRequest
	key    crypto.Signer
	keyPEM string
}

// readIssued reads ca.crt and <stem>.{key,csr,crt} and fails the test
// unless they form one consistent set: ca.crt is the cluster's CA as
// Magnum holds it, the CSR is signed by the key, the certificate carries
// the key and verifies against the CA now for the given usage.
func (c *certNode) readIssued(stem string, usage x509.ExtKeyUsage) issuedSet {
	c.t.Helper()
	var s issuedSet
	block := func(path, typ string) []byte {
		c.t.Helper()
		b, rest := pem.Decode([]byte(c.read(path)))
		if b == nil || (typ != "" && b.Type != typ) || len(bytes.TrimSpace(rest)) != 0 {
			c.t.Fatalf("%s: want exactly one PEM %s block", path, typ)
		}
		return b.Bytes
	}
	var err error
	if s.ca, err = x509.ParseCertificate(block(caCertPath, "CERTIFICATE")); err != nil {
		c.t.Fatalf("ca.crt: %v", err)
	}
	if !s.ca.Equal(c.cloud.cluster.CA.Cert) {
		c.t.Fatalf("ca.crt is %s, not the cluster's CA from Magnum", s.ca.Subject)
	}
	s.keyPEM = c.read(srvDir + "/" + stem + ".key")
	kb, _ := pem.Decode([]byte(s.keyPEM))
	if kb == nil {
		c.t.Fatalf("%s.key: no PEM", stem)
	}
	var k any
	switch kb.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(kb.Bytes)
	default:
		c.t.Fatalf("%s.key: PEM type %q", stem, kb.Type)
	}
	if err != nil {
		c.t.Fatalf("%s.key: %v", stem, err)
	}
	s.key = k.(crypto.Signer)
	if s.cert, err = x509.ParseCertificate(block(srvDir+"/"+stem+".crt", "CERTIFICATE")); err != nil {
		c.t.Fatalf("%s.crt: %v", stem, err)
	}
	if s.csr, err = x509.ParseCertificateRequest(block(srvDir+"/"+stem+".csr", "CERTIFICATE REQUEST")); err != nil {
		c.t.Fatalf("%s.csr: %v", stem, err)
	}
	if err := s.csr.CheckSignature(); err != nil {
		c.t.Errorf("%s.csr: %v", stem, err)
	}
	pub := s.key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !pub.Equal(s.cert.PublicKey) {
		c.t.Errorf("%s.crt does not carry the public half of %s.key", stem, stem)
	}
	if !pub.Equal(s.csr.PublicKey) {
		c.t.Errorf("%s.csr does not carry the public half of %s.key", stem, stem)
	}
	roots := x509.NewCertPool()
	roots.AddCert(s.ca)
	if _, err := s.cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: c.cloud.clock.Now(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		c.t.Errorf("%s.crt does not verify against ca.crt: %v", stem, err)
	}
	if got := s.cert.Subject.String(); got != "CN=kubernetes.invalid" {
		c.t.Errorf("subject %q, want CN=kubernetes.invalid (spec §5)", got)
	}
	return s
}

// verifiesFor reports whether the certificate verifies against the CA for
// a server name (DNS name or IP), as a TLS client would check it.
func (s issuedSet) verifiesFor(name string, usage x509.ExtKeyUsage, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(s.ca)
	_, err := s.cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

// sanText lists a certificate's SANs as openssl prints them, sorted:
// "IP:1.2.3.4", "DNS:name", "dirName:CN=kubelet".
func sanText(c *x509.Certificate) ([]string, error) {
	var out []string
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &names); err != nil {
			return nil, err
		}
		for _, n := range names {
			switch n.Tag {
			case 2:
				out = append(out, "DNS:"+string(n.Bytes))
			case 7:
				out = append(out, "IP:"+net.IP(n.Bytes).String())
			case 4:
				var rdn pkix.RDNSequence
				if _, err := asn1.Unmarshal(n.Bytes, &rdn); err != nil {
					return nil, err
				}
				out = append(out, "dirName:"+rdn.String())
			default:
				out = append(out, fmt.Sprintf("tag%d:%x", n.Tag, n.Bytes))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// sameSANs compares a certificate's SANs with want (any order).
func sameSANs(c *x509.Certificate, want ...string) error {
	got, err := sanText(c)
	if err != nil {
		return err
	}
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("SANs\n got %s\nwant %s", strings.Join(got, ","), strings.Join(want, ","))
	}
	return nil
}

// keyAlg names a key as the agent setting does.
func keyAlg(k crypto.Signer) string {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("rsa-%d", k.N.BitLen())
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return "ecdsa-p256"
		}
	}
	return fmt.Sprintf("%T", k)
}
