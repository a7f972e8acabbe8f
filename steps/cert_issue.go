package steps

import (
	"context"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/magnum"
)

// issue gets a fresh certificate. The CA comes first, so a Magnum that
// cannot answer costs no key generation; key and CSR stay in memory (the
// key never leaves the node: only the CSR is sent); the answer is verified
// before anything is written.
func issue(ctx context.Context, e *Env, p certProfile, want []san, alg string) (material, error) {
	pr := e.Params
	switch {
	case pr.MagnumURL == "":
		return material{}, fmt.Errorf("%s is empty: no certificate API to ask", "MAGNUM_URL")
	case pr.BayUUID == "":
		return material{}, fmt.Errorf("%s is empty: no cluster to ask a certificate for", "BAY_UUID")
	}
	if e.Settings.Insecure {
		e.Log.Warn("TLS verification of Keystone and Magnum is disabled (insecure): the token and the CA can be intercepted")
	}
	hc, err := e.HTTP(httpclient.Options{CABundle: e.Settings.CABundle, Insecure: e.Settings.Insecure, Logger: e.Log})
	if err != nil {
		return material{}, err
	}
	cl, err := magnum.Dial(ctx, magnum.Config{
		URL:  pr.MagnumURL,
		HTTP: hc.StandardClient(),
		Auth: magnum.Auth{
			UserToken: pr.UserToken, AuthURL: pr.AuthURL,
			TrusteeUserID: pr.TrusteeUserID, TrusteePassword: pr.TrusteePassword, TrustID: pr.TrustID,
		},
		UserAgent: "heatstrap/" + e.Version,
	})
	if err != nil {
		return material{}, err
	}
	cas, err := cl.CA(ctx, pr.BayUUID)
	if err != nil {
		return material{}, err
	}
	e.Log.Info("got the cluster CA", "ca", cas[0].Subject.String(), "auth", cl.Mode(), "newer_api", cl.Newer())
	// Magnum keeps signing with an expired CA; what it returns would then
	// fail the chain check with x509's "certificate has expired", not
	// saying which one. Say it, before a key and a POST are spent on it.
	if ca, now := cas[0], e.Now(); now.Before(ca.NotBefore) || !now.Before(ca.NotAfter) {
		return material{}, fmt.Errorf("the cluster CA %s from Magnum is not valid now (valid %s to %s): no certificate it signs would verify; rotate the cluster CA in Magnum",
			ca.Subject, ca.NotBefore.UTC().Format(time.RFC3339), ca.NotAfter.UTC().Format(time.RFC3339))
	}
	key, err := generateKey(alg)
	if err != nil {
		return material{}, err
	}
	csrDER, err := newCSR(key, p, want)
	if err != nil {
		return material{}, err
	}
	cert, err := cl.Sign(ctx, pr.BayUUID, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
	if err != nil {
		return material{}, err
	}
	m := material{cas: cas, key: key, cert: cert}
	if err := m.verifyIssued(p, want, alg, e.Now()); err != nil {
		return material{}, fmt.Errorf("the certificate Magnum issued is unusable: %w", err)
	}
	if err := writeMaterial(e, p, m, csrDER); err != nil {
		return material{}, err
	}
	names := make([]string, len(want))
	for i, s := range want {
		names[i] = s.String()
	}
	e.Log.Info("certificate issued", "path", p.certPath(), "key", alg, "serial", cert.SerialNumber.Text(16),
		"expires", cert.NotAfter.UTC(), "sans", strings.Join(names, ","))
	if cert.NotAfter.Sub(e.Now()) <= renewBefore {
		e.Log.Warn("Magnum's term of validity is shorter than the renewal margin; every run will re-issue",
			"expires", cert.NotAfter.UTC())
	}
	return m, nil
}
