package magnumtest_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

var (
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSubjectKeyID     = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidNameConstraints  = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidCRLDistribution  = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidServerAuth       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
)

func mustDER(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyUsageExt encodes keyUsage bits in Go's order (digitalSignature = 0).
func keyUsageExt(t *testing.T, critical bool, bits ...int) pkix.Extension {
	t.Helper()
	var b [2]byte
	n := 0
	for _, i := range bits {
		b[i/8] |= 0x80 >> uint(i%8)
		n = max(n, i+1)
	}
	return pkix.Extension{Id: oidKeyUsage, Critical: critical, Value: mustDER(t, asn1.BitString{Bytes: b[:(n+7)/8], BitLength: n})}
}

func basicConstraintsExt(t *testing.T, critical, ca bool) pkix.Extension {
	t.Helper()
	v := []byte{0x30, 0x00}
	if ca {
		v = mustDER(t, struct{ IsCA bool }{true})
	}
	return pkix.Extension{Id: oidBasicConstraints, Critical: critical, Value: v}
}

func sanExt(t *testing.T, dns string, ip net.IP) pkix.Extension {
	t.Helper()
	return pkix.Extension{Id: oidSubjectAltName, Value: mustDER(t, []asn1.RawValue{
		{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(dns)},
		{Class: asn1.ClassContextSpecific, Tag: 7, Bytes: ip.To4()},
	})}
}

func extension(c *x509.Certificate, id asn1.ObjectIdentifier) *pkix.Extension {
	for i := range c.Extensions {
		if c.Extensions[i].Id.Equal(id) {
			return &c.Extensions[i]
		}
	}
	return nil
}

// The conductor's sign() (spec §5.1 "Signing on the Magnum side"): subject
// copied, issuer the cluster CA, now-1 day .. now+term, uuid4 serial,
// SHA-256, allowed extensions kept, key usages filtered, CA flag stripped.
func TestSigningFollowsTheConductor(t *testing.T) {
	w := newWorld(t, magnumtest.Options{Release: magnumtest.Mitaka})
	subject := pkix.Name{CommonName: "kubernetes.invalid", Organization: []string{"system:masters"}}
	csr, key := csrPEM(t, subject,
		// digitalSignature, keyEncipherment, dataEncipherment (3), keyCertSign (5)
		keyUsageExt(t, false, 0, 2, 3, 5),
		pkix.Extension{Id: oidExtKeyUsage, Value: mustDER(t, []asn1.ObjectIdentifier{oidServerAuth, oidClientAuth})},
		sanExt(t, "kubernetes.default", net.IPv4(10, 254, 0, 1)),
		basicConstraintsExt(t, false, true),
		pkix.Extension{Id: oidSubjectKeyID, Value: mustDER(t, []byte{1, 2, 3, 4})},
		pkix.Extension{Id: oidCRLDistribution, Value: mustDER(t, []asn1.RawValue{})}, // not allowed, not critical: dropped
	)
	a := w.post(t, w.UserToken(w.owner), nil, map[string]any{"bay_uuid": w.cluster.UUID, "csr": csr})
	expect(t, "sign", a, http.StatusCreated)
	c := parseCert(t, a.doc["pem"].(string))

	ca := w.cluster.CA.Cert
	if ca.Subject.CommonName != "k8s" || !ca.IsCA || ca.PublicKeyAlgorithm != x509.RSA {
		t.Errorf("cluster CA: %v CA=%v %v", ca.Subject, ca.IsCA, ca.PublicKeyAlgorithm)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool(ca), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("does not chain to the cluster CA: %v", err)
	}
	if !bytes.Equal(c.RawSubject, mustDER(t, subject.ToRDNSequence())) || !bytes.Equal(c.RawIssuer, ca.RawSubject) {
		t.Errorf("subject %v issuer %v", c.Subject, c.Issuer)
	}
	term := magnumtest.DefaultPolicy().TermOfValidity
	if !c.NotBefore.Equal(now.Add(-24*time.Hour)) || !c.NotAfter.Equal(now.Add(term)) || term != 1825*24*time.Hour {
		t.Errorf("validity %v .. %v, want now-1d .. now+1825d", c.NotBefore, c.NotAfter)
	}
	if c.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("signature %v", c.SignatureAlgorithm)
	}
	if s := c.SerialNumber.FillBytes(make([]byte, 16)); c.SerialNumber.BitLen() > 128 || s[6]>>4 != 4 || s[8]>>6 != 2 {
		t.Errorf("serial %x is not a uuid4", s)
	}
	if pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(key.Public()) {
		t.Error("certificate is not for the CSR's key")
	}
	// keyCertSign is dropped (no allow_ca), dataEncipherment is not allowed.
	if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("key usage %b", c.KeyUsage)
	}
	if c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("CA flag not stripped: IsCA=%v valid=%v", c.IsCA, c.BasicConstraintsValid)
	}
	if len(c.ExtKeyUsage) != 2 || len(c.DNSNames) != 1 || c.DNSNames[0] != "kubernetes.default" || !c.IPAddresses[0].Equal(net.IPv4(10, 254, 0, 1)) {
		t.Errorf("EKU %v SANs %v %v", c.ExtKeyUsage, c.DNSNames, c.IPAddresses)
	}
	if !bytes.Equal(c.SubjectKeyId, []byte{1, 2, 3, 4}) || extension(c, oidCRLDistribution) != nil || len(c.AuthorityKeyId) != 0 {
		t.Errorf("SKI %x, CRL DP kept %v, AKI %x", c.SubjectKeyId, extension(c, oidCRLDistribution) != nil, c.AuthorityKeyId)
	}
}

// What validator.py refuses: a critical extension it does not allow, a
// critical keyUsage with a bit it does not allow, a critical CA flag.
// allow_ca keeps the CA flag and keyCertSign; term_of_validity is the term.
func TestSigningPolicy(t *testing.T) {
	ca, err := magnumtest.NewCA("k8s", now, 3650*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(p magnumtest.Policy, exts ...pkix.Extension) (*x509.Certificate, error) {
		csr, _ := csrPEM(t, pkix.Name{CommonName: "n"}, exts...)
		pemText, err := ca.Sign([]byte(csr), p, now)
		if err != nil {
			return nil, err
		}
		return parseCert(t, string(pemText)), nil
	}
	def := magnumtest.DefaultPolicy()
	for _, tc := range []struct {
		name string
		ext  pkix.Extension
		oid  asn1.ObjectIdentifier
	}{
		{"critical nameConstraints", pkix.Extension{Id: oidNameConstraints, Critical: true, Value: []byte{0x30, 0x00}}, oidNameConstraints},
		{"critical keyUsage with keyCertSign", keyUsageExt(t, true, 0, 5), oidKeyUsage},
		{"critical keyUsage with dataEncipherment", keyUsageExt(t, true, 0, 3), oidKeyUsage},
		{"critical CA flag", basicConstraintsExt(t, true, true), oidBasicConstraints},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sign(def, tc.ext)
			var verr magnumtest.ValidationError
			if !errors.As(err, &verr) || !verr.Extension.Equal(tc.oid) || !strings.Contains(err.Error(), "is not allowed") {
				t.Fatalf("got %v, want a validation error for %v", err, tc.oid)
			}
		})
	}
	// A critical keyUsage within the allowed bits, and a critical CA:false,
	// pass untouched.
	c, err := sign(def, keyUsageExt(t, true, 0, 1), basicConstraintsExt(t, true, false))
	if err != nil {
		t.Fatal(err)
	}
	if ku := extension(c, oidKeyUsage); ku == nil || !ku.Critical || c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment || c.IsCA {
		t.Errorf("key usage %b critical=%v CA=%v", c.KeyUsage, ku != nil && ku.Critical, c.IsCA)
	}
	// Nothing allowed: every non-critical extension is dropped.
	c, err = sign(magnumtest.Policy{TermOfValidity: time.Hour}, keyUsageExt(t, false, 0), sanExt(t, "a", net.IPv4(1, 2, 3, 4)))
	if err != nil || extension(c, oidKeyUsage) != nil || extension(c, oidSubjectAltName) != nil || !c.NotAfter.Equal(now.Add(time.Hour)) {
		t.Errorf("empty allow list: %v, exts %v, not after %v", err, c.Extensions, c.NotAfter)
	}
	allowCA := def
	allowCA.AllowCA = true
	allowCA.AllowedKeyUsage |= x509.KeyUsageCertSign
	c, err = sign(allowCA, basicConstraintsExt(t, true, true), keyUsageExt(t, true, 5))
	if err != nil || !c.IsCA || c.KeyUsage != x509.KeyUsageCertSign {
		t.Errorf("allow_ca: %v CA=%v usage %b", err, c != nil && c.IsCA, c.KeyUsage)
	}
	// A CSR whose signature does not verify is refused (Magnum would not
	// check; the emulator is stricter so a broken CSR cannot pass).
	csr, _ := csrPEM(t, pkix.Name{CommonName: "n"})
	bad := []byte(csr)
	bad[len(bad)/2] ^= 1
	if _, err := ca.Sign(bad, def, now); err == nil {
		t.Error("a corrupted CSR was signed")
	}
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
