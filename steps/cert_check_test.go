package steps

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/internal/pemcert"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// Magnum keeps the CSR's SANs; an answer with more than were asked for is
// not the answer to our CSR and is refused after issuing. A kept
// certificate with more SANs than wanted now still serves.
func TestCertCheckExtraSANs(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	ca, err := magnumtest.NewCA("k8s", now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	want := []san{{"IP", "10.0.0.4"}, {"DNS", "kubernetes"}}
	signed := append(append([]san(nil), want...), san{"DNS", "evil.example"})
	der, err := newCSR(key, serverProfile, signed)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.Sign(pemBlock("CERTIFICATE REQUEST", der), magnumtest.DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pemcert.Parse(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	m := material{cas: []*x509.Certificate{ca.Cert}, key: key, cert: certs[0]}

	err = m.verifyIssued(serverProfile, want, keyECDSAP256, now)
	if err == nil || err.Error() != "certificate has SANs that were not requested: DNS:evil.example" {
		t.Errorf("verifyIssued = %v", err)
	}
	if err := m.check(serverProfile, want, keyECDSAP256, now); err != nil {
		t.Errorf("check (rerun) = %v, want the certificate kept", err)
	}
	if err := m.verifyIssued(serverProfile, signed, keyECDSAP256, now); err != nil {
		t.Errorf("verifyIssued with every SAN requested = %v", err)
	}
	if err := m.check(serverProfile, append(want, san{"IP", "10.0.0.9"}), keyECDSAP256, now); err == nil ||
		!strings.Contains(err.Error(), "certificate lacks SANs IP:10.0.0.9") {
		t.Errorf("check with a new SAN = %v", err)
	}
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
