package steps

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/internal/pemcert"
)

// makeCert gets the node its TLS certificate from Magnum's certificate
// API (spec §5): the master a server certificate, a minion a client one.
//
// Deliberate differences from Mitaka's make-cert scripts (§9.4, §9.5):
//   - trust credentials (Newton+) when present, so a node added after the
//     creator's token expired still gets a certificate;
//   - retries with backoff, timeouts, and errors that say what to do;
//   - key and CSR made in Go, never written before the certificate is
//     verified, every file atomic: a failed run leaves the old set intact;
//   - SANs also cover the node IP, the kubernetes service IP, the hostname
//     and the kubernetes* names; no empty SAN when metadata is silent;
//   - a rerun re-issues only when the kept certificate no longer serves
//     (chain, key, SANs, 30 days left), instead of minting a new key.
var makeCert = Step{
	Name:    "make-cert",
	Summary: "TLS key, CSR and certificate from Magnum's certificate API",
	Reads:   []config.Key{config.TLSDisabled, config.BayUUID, config.UserToken, config.MagnumURL, config.TrusteeUserID, config.TrusteePassword, config.TrustID, config.AuthURL, config.KubeAPIPublicAddress, config.KubeAPIPrivateAddress, config.KubeNodeIP, config.PortalNetworkCIDR},
	Timeout: 5 * time.Minute,
	Extra:   certExtra,
	When: func(e *Env) string {
		if e.Params.TLSDisabled {
			return "TLS_DISABLED is True: the cluster runs without TLS"
		}
		return ""
	},
	Run: runMakeCert,
}

// certProfile is what differs between the master's server certificate
// (§5.1) and the minion's client certificate (§5.2).
type certProfile struct {
	stem        string // file names: server.key, client.crt, ...
	commonName  string
	extKeyUsage []x509.ExtKeyUsage
}

var (
	serverProfile = certProfile{"server", "kubernetes.invalid", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	clientProfile = certProfile{"client", "kubernetes.invalid", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
)

func profileFor(r config.Role) (certProfile, error) {
	switch r {
	case config.RoleMaster:
		return serverProfile, nil
	case config.RoleMinion:
		return clientProfile, nil
	}
	return certProfile{}, fmt.Errorf("make-cert: unknown role %q", r)
}

// certExtra makes two things inputs that heat-params does not carry: the
// key algorithm (a new one needs a new key) and a due renewal. Without the
// latter the runner would keep a succeeded make-cert forever and never
// look at the expiry date; with it, the first run inside the 30 days
// re-issues, and the run after that finds everything fresh (a no-op).
func certExtra(e *Env) []string {
	alg, _ := keyAlgorithm(e.Settings)
	out := []string{"key-algorithm=" + alg}
	p, err := profileFor(e.Params.Role)
	if err != nil || e.Params.TLSDisabled || e.Files == nil || e.Now == nil {
		return out
	}
	if b, err := e.Files.ReadFile(p.certPath()); err == nil {
		if certs, err := pemcert.Parse(b); err == nil && certs[0].NotAfter.Sub(e.Now()) <= renewBefore {
			out = append(out, "renewal=due")
		}
	}
	return out
}

func runMakeCert(ctx context.Context, e *Env) error {
	if e.Params.TLSDisabled {
		return nil // When says so; nothing may be written
	}
	alg, err := keyAlgorithm(e.Settings)
	if err != nil {
		return err
	}
	p, err := profileFor(e.Params.Role)
	if err != nil {
		return err
	}
	want := minionSANs()
	if p.stem == serverProfile.stem {
		want = masterSANs(ctx, e)
	}
	if err := ensureCertDirs(e); err != nil {
		return err
	}
	m, err := loadMaterial(e, p)
	if err == nil {
		err = m.check(p, want, alg, e.Now())
	}
	// sent is the SAN list of the request behind the certificate kept:
	// conf/ and the CSR describe that request, so a metadata service that
	// answers one run and not the next rewrites nothing.
	var sent []san
	if err == nil {
		e.Log.Info("certificate still serves; not re-issuing", "path", p.certPath(), "expires", m.cert.NotAfter.UTC())
		if sent, err = sansOf(m.cert); err != nil {
			return fmt.Errorf("%s: %w", p.certPath(), err)
		}
		if err := ensureCSR(e, p, m.key, sent); err != nil {
			return err
		}
	} else {
		e.Log.Info("issuing a certificate", "reason", err.Error())
		if m, err = issue(ctx, e, p, want, alg); err != nil {
			return err
		}
		sent = want
	}
	if err := writeReqConf(e, p, sent, alg); err != nil {
		return err
	}
	if ca := m.cas[0]; ca.NotAfter.Sub(e.Now()) <= renewBefore {
		e.Log.Warn("the cluster CA expires soon; re-issuing cannot help, rotate the CA in Magnum",
			"ca", ca.Subject.String(), "expires", ca.NotAfter.UTC())
	}
	if p.stem == clientProfile.stem {
		if err := fixKubeconfig(e); err != nil {
			return err
		}
	}
	return settleCertFiles(e, p)
}
