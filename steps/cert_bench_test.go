package steps

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/internal/pemcert"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// benchSANs is a master's SAN list as make-cert builds it.
var benchSANs = []san{
	ipSAN(netip.MustParseAddr(metadataIP)), {"IP", "203.0.113.10"}, {"IP", "10.0.0.5"}, {"IP", "10.0.0.4"},
	{"IP", "127.0.0.1"}, {"IP", "10.254.0.1"}, {"DNS", "heatstrap-demo"},
	{"DNS", "kubernetes"}, {"DNS", "kubernetes.default"}, {"DNS", "kubernetes.default.svc"}, {"DNS", "kubernetes.default.svc.cluster.local"},
}

// BenchmarkCertIssue is the CPU an issue costs, per key algorithm, without
// HTTP: the node's key generation and CSR, and the conductor's signing
// (magnumtest's, Go instead of Magnum's python, with a 2048-bit CA as
// Magnum's default). What the key algorithm setting trades for boot time.
func BenchmarkCertIssue(b *testing.B) {
	ca, now := benchCA(b)
	for _, alg := range config.CertKeyAlgorithms {
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			var certPEM []byte
			var key crypto.Signer
			for b.Loop() {
				var err error
				if key, err = generateKey(alg); err != nil {
					b.Fatal(err)
				}
				der, err := newCSR(key, serverProfile, benchSANs)
				if err != nil {
					b.Fatal(err)
				}
				if certPEM, err = ca.Sign(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), magnumtest.DefaultPolicy(), now); err != nil {
					b.Fatal(err)
				}
			}
			checkBenchCert(b, ca, key, certPEM, alg, now)
		})
	}
}

// BenchmarkCertCSRSign is BenchmarkCertIssue with the key made once: the
// part of an issue that is not key generation.
func BenchmarkCertCSRSign(b *testing.B) {
	ca, now := benchCA(b)
	for _, alg := range config.CertKeyAlgorithms {
		b.Run(alg, func(b *testing.B) {
			key, err := generateKey(alg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var certPEM []byte
			for b.Loop() {
				der, err := newCSR(key, serverProfile, benchSANs)
				if err != nil {
					b.Fatal(err)
				}
				if certPEM, err = ca.Sign(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), magnumtest.DefaultPolicy(), now); err != nil {
					b.Fatal(err)
				}
			}
			checkBenchCert(b, ca, key, certPEM, alg, now)
		})
	}
}

func benchCA(b *testing.B) (*magnumtest.CA, time.Time) {
	b.Helper()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	ca, err := magnumtest.NewCA("k8s", now, magnumtest.DefaultPolicy().TermOfValidity)
	if err != nil {
		b.Fatal(err)
	}
	return ca, now
}

// checkBenchCert makes sure the loop measured real work: the last
// certificate passes the step's own post-issue verification.
func checkBenchCert(b *testing.B, ca *magnumtest.CA, key crypto.Signer, certPEM []byte, alg string, now time.Time) {
	b.Helper()
	certs, err := pemcert.Parse(certPEM)
	if err != nil {
		b.Fatal(err)
	}
	m := material{cas: []*x509.Certificate{ca.Cert}, key: key, cert: certs[0]}
	if err := m.verifyIssued(serverProfile, benchSANs, alg, now); err != nil {
		b.Fatal(err)
	}
}
