package steps

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// material is what the node keeps: the cluster CA, the node key and the
// certificate Magnum signed for it.
type material struct {
	cas  []*x509.Certificate
	key  crypto.Signer
	cert *x509.Certificate
}

// renewBefore: a certificate that ends sooner than this is re-issued, so
// a rerun well before expiry renews it without anyone watching dates.
const renewBefore = 30 * 24 * time.Hour

// check is the rerun test (the idempotency rule): the certificate
// chains to the CA, matches the key, is of the configured algorithm,
// covers every SAN wanted now and lasts more than renewBefore.
func (m material) check(p certProfile, want []san, alg string, now time.Time) error {
	probs := m.problems(p, want, alg, now, false)
	if left := m.cert.NotAfter.Sub(now); left > 0 && left <= renewBefore {
		probs = append(probs, fmt.Sprintf("certificate expires %s, in less than %d days",
			m.cert.NotAfter.UTC().Format(time.DateOnly), int(renewBefore.Hours()/24)))
	}
	return joinProblems(probs)
}

// verifyIssued is the check after issuing: the same, but the SANs must be
// exactly those requested (the conductor keeps them; anything else means
// the answer is not for our CSR) and a short term is only worth a warning.
func (m material) verifyIssued(p certProfile, want []san, alg string, now time.Time) error {
	return joinProblems(m.problems(p, want, alg, now, true))
}

func joinProblems(probs []string) error {
	if len(probs) == 0 {
		return nil
	}
	return errors.New(strings.Join(probs, "; "))
}

func (m material) problems(p certProfile, want []san, alg string, now time.Time, exact bool) []string {
	var probs []string
	c := m.cert
	at := now
	if now.Before(c.NotBefore) || !now.Before(c.NotAfter) {
		probs = append(probs, fmt.Sprintf("certificate is not valid now (valid %s to %s)",
			c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339)))
		at = c.NotBefore.Add(time.Second) // still check the chain itself
	}
	pool := x509.NewCertPool()
	for _, ca := range m.cas {
		pool.AddCert(ca)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		probs = append(probs, fmt.Sprintf("certificate (issuer %s) does not chain to the cluster CA %s: %v", c.Issuer, m.cas[0].Subject, err))
	}
	if pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(m.key.Public()) {
		probs = append(probs, "certificate does not match the key")
	}
	if got := algorithmOf(m.key.Public()); got != alg {
		probs = append(probs, fmt.Sprintf("key is %s, %s is configured", got, alg))
	}
	if got := c.Subject.String(); got != "CN="+p.commonName {
		probs = append(probs, fmt.Sprintf("certificate subject is %q, want %q", got, "CN="+p.commonName))
	}
	for _, u := range p.extKeyUsage {
		if !slices.Contains(c.ExtKeyUsage, u) {
			probs = append(probs, "certificate lacks extended key usage "+ekuName[u])
		}
	}
	if ku := wantKeyUsage(alg); c.KeyUsage&ku != ku {
		probs = append(probs, "certificate lacks key usage "+keyUsageText(alg))
	}
	have, err := sansOf(c)
	if err != nil {
		probs = append(probs, "certificate: "+err.Error())
	}
	if missing := sanDiff(want, have); len(missing) > 0 {
		probs = append(probs, "certificate lacks SANs "+missing)
	}
	if extra := sanDiff(have, want); exact && len(extra) > 0 {
		probs = append(probs, "certificate has SANs that were not requested: "+extra)
	}
	return probs
}

var ekuName = map[x509.ExtKeyUsage]string{x509.ExtKeyUsageServerAuth: "serverAuth", x509.ExtKeyUsageClientAuth: "clientAuth"}

// sanDiff lists the SANs of a that b lacks, comma-separated.
func sanDiff(a, b []san) string {
	var out []string
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			out = append(out, x.String())
		}
	}
	return strings.Join(out, ", ")
}
