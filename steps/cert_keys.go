package steps

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/heatstrap/heatstrap/config"
)

// Key algorithms for the node key (config.CertKeyAlgorithms). Mitaka ran
// `openssl genrsa 4096` (spec §5.1 step 3); the smaller choices trade
// parity for boot time.
const (
	keyRSA4096   = "rsa-4096"
	keyRSA2048   = "rsa-2048"
	keyECDSAP256 = "ecdsa-p256"
)

// keyAlgorithm is the agent config's cert_key_algorithm; a Settings not
// made by config.LoadSettings (zero value) gets Mitaka's default.
func keyAlgorithm(s config.Settings) (string, error) {
	alg := s.CertKeyAlgorithm
	if alg == "" {
		alg = config.CertKeyAlgorithms[0]
	}
	if !slices.Contains(config.CertKeyAlgorithms, alg) {
		return "", fmt.Errorf("cert_key_algorithm %q in the agent config: must be one of %s", alg, strings.Join(config.CertKeyAlgorithms, ", "))
	}
	return alg, nil
}

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case keyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case keyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case keyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("unknown key algorithm %q", alg)
}

// algorithmOf names the algorithm of a public key, "" if none of ours.
func algorithmOf(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return keyECDSAP256
		}
		return "ecdsa-" + k.Curve.Params().Name
	}
	return fmt.Sprintf("%T", pub)
}

// marshalKey writes the key as openssl would have: PKCS#1 for RSA (what
// genrsa wrote in 2016), SEC1 for ECDSA.
func marshalKey(k crypto.Signer) ([]byte, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
	}
	return nil, fmt.Errorf("cannot store a %T key", k)
}

// parseKey reads a key file in any of the usual encodings. Errors never
// quote the file.
func parseKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", b.Type)
	}
	if err != nil {
		return nil, errors.New("unreadable private key")
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}

var (
	oidExtKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidServerAuth     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
)

// newCSR builds the request of a profile: subject CN=kubernetes.invalid,
// keyUsage (critical), extendedKeyUsage and subjectAltName, all of which
// Magnum's conductor keeps (spec §5.1 "Signing on the Magnum side").
// x509.CertificateRequest has no fields for usages or directoryName SANs,
// so the extensions are encoded here.
func newCSR(key crypto.Signer, p certProfile, sans []san) ([]byte, error) {
	ku, err := asn1.Marshal(keyUsageBits(algorithmOf(key.Public())))
	if err != nil {
		return nil, err
	}
	var ekus []asn1.ObjectIdentifier
	for _, u := range p.extKeyUsage {
		ekus = append(ekus, map[x509.ExtKeyUsage]asn1.ObjectIdentifier{
			x509.ExtKeyUsageServerAuth: oidServerAuth, x509.ExtKeyUsageClientAuth: oidClientAuth}[u])
	}
	eku, err := asn1.Marshal(ekus)
	if err != nil {
		return nil, err
	}
	sanDER, err := marshalSANs(sans)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: p.commonName},
		ExtraExtensions: []pkix.Extension{
			{Id: oidKeyUsage, Critical: true, Value: ku},
			{Id: oidExtKeyUsage, Value: eku},
			{Id: oidSubjectAltName, Value: sanDER},
		},
	}
	return x509.CreateCertificateRequest(rand.Reader, tmpl, key)
}

// keyUsageBits is digitalSignature, plus keyEncipherment for RSA (TLS
// key transport; the usages of Mitaka's client.conf, §5.2); an ECDSA key
// cannot encipher.
func keyUsageBits(alg string) asn1.BitString {
	if strings.HasPrefix(alg, "rsa-") {
		return asn1.BitString{Bytes: []byte{0xa0}, BitLength: 3}
	}
	return asn1.BitString{Bytes: []byte{0x80}, BitLength: 1}
}

// keyUsageText is keyUsageBits in openssl config syntax.
func keyUsageText(alg string) string {
	if strings.HasPrefix(alg, "rsa-") {
		return "critical,digitalSignature,keyEncipherment"
	}
	return "critical,digitalSignature"
}

// wantKeyUsage is keyUsageBits as Go reports it on a certificate.
func wantKeyUsage(alg string) x509.KeyUsage {
	if strings.HasPrefix(alg, "rsa-") {
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	}
	return x509.KeyUsageDigitalSignature
}
