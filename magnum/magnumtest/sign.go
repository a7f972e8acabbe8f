package magnumtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Policy is Magnum's [x509] configuration (magnum/common/x509/config.py).
type Policy struct {
	// AllowCA lets a CSR keep the CA flag and CA key usages (allow_ca).
	AllowCA bool
	// AllowedExtensions are kept from the CSR, by OID (allowed_extensions).
	AllowedExtensions []asn1.ObjectIdentifier
	// AllowedKeyUsage are the keyUsage bits kept (allowed_key_usage).
	AllowedKeyUsage x509.KeyUsage
	// TermOfValidity is how long a signed certificate lasts (term_of_validity).
	TermOfValidity time.Duration
}

var (
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSubjectKeyID     = asn1.ObjectIdentifier{2, 5, 29, 14}
)

// DefaultPolicy is Magnum's default: keyUsage, extendedKeyUsage,
// subjectAltName, basicConstraints and subjectKeyIdentifier kept; key
// usages digitalSignature, keyEncipherment and contentCommitment; no CA;
// 1825 days.
func DefaultPolicy() Policy {
	return Policy{
		AllowedExtensions: []asn1.ObjectIdentifier{oidKeyUsage, oidExtKeyUsage, oidSubjectAltName, oidBasicConstraints, oidSubjectKeyID},
		AllowedKeyUsage:   x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageContentCommitment,
		TermOfValidity:    1825 * 24 * time.Hour,
	}
}

// CA is a cluster CA as Magnum's conductor makes it at cluster creation
// (generate_ca_certificate): RSA 2048 ([x509] rsa_key_size), self-signed,
// CN=<cluster name>, basicConstraints CA:true pathlen:0 and keyUsage
// keyCertSign, both critical, valid from a day ago for the term.
type CA struct {
	Cert *x509.Certificate
	key  *rsa.PrivateKey
}

// NewCA makes a cluster CA.
func NewCA(name string, now time.Time, term time.Duration) (*CA, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          uuid4Int(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(term),
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key}, nil
}

// PEM is the CA certificate as Magnum returns it in "pem".
func (ca *CA) PEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}))
}

// ValidationError is Magnum's CertificateValidationError (a 400).
type ValidationError struct{ Extension asn1.ObjectIdentifier }

func (e ValidationError) Error() string {
	return fmt.Sprintf("Extension '%s' is not allowed", e.Extension)
}

// Sign is the conductor's x509 sign(): the subject is copied from the
// CSR, the issuer is the CA, validity is now-1 day .. now+term, the serial
// is a random uuid4 as an integer, SHA-256, and the CSR's extensions pass
// through filter_extensions. Magnum does not check the CSR's signature;
// the emulator does (stricter), so a broken CSR cannot pass unnoticed.
func (ca *CA) Sign(csrPEM []byte, p Policy, now time.Time) ([]byte, error) {
	b, _ := pem.Decode(csrPEM)
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("CSR is not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("CSR signature: %w", err)
	}
	exts, err := filterExtensions(csr.Extensions, p)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    uuid4Int(),
		RawSubject:      csr.RawSubject,
		NotBefore:       now.Add(-24 * time.Hour),
		NotAfter:        now.Add(p.TermOfValidity),
		ExtraExtensions: exts,
	}
	// Magnum's certificates carry no authorityKeyIdentifier: hand Go a
	// parent without a subjectKeyId so it adds none either.
	parent := *ca.Cert
	parent.SubjectKeyId = nil
	der, err := x509.CreateCertificate(rand.Reader, tmpl, &parent, csr.PublicKey, crypto.Signer(ca.key))
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// filterExtensions is magnum/common/x509/validator.py filter_extensions:
// extensions not allowed are dropped, or refused when critical; keyUsage
// bits not allowed likewise; a CA basicConstraints is refused when
// critical and otherwise replaced by CA:false (unless AllowCA).
func filterExtensions(in []pkix.Extension, p Policy) ([]pkix.Extension, error) {
	allowedKU := p.AllowedKeyUsage
	if !p.AllowCA {
		allowedKU &^= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	var out []pkix.Extension
	for _, ext := range in {
		if !containsOID(p.AllowedExtensions, ext.Id) {
			if ext.Critical {
				return nil, ValidationError{ext.Id}
			}
			continue
		}
		switch {
		case ext.Id.Equal(oidKeyUsage):
			ku, err := parseKeyUsage(ext.Value)
			if err != nil {
				return nil, err
			}
			if ku&^allowedKU != 0 {
				if ext.Critical {
					return nil, ValidationError{ext.Id}
				}
				ku &= allowedKU
			}
			if ext.Value, err = marshalKeyUsage(ku); err != nil {
				return nil, err
			}
		case ext.Id.Equal(oidBasicConstraints) && !p.AllowCA:
			var bc struct {
				IsCA       bool `asn1:"optional"`
				MaxPathLen int  `asn1:"optional,default:-1"`
			}
			if _, err := asn1.Unmarshal(ext.Value, &bc); err != nil {
				return nil, fmt.Errorf("basicConstraints: %w", err)
			}
			if bc.IsCA {
				if ext.Critical {
					return nil, ValidationError{ext.Id}
				}
				ext = pkix.Extension{Id: oidBasicConstraints, Value: []byte{0x30, 0x00}}
			}
		}
		out = append(out, ext)
	}
	return out, nil
}

func containsOID(list []asn1.ObjectIdentifier, id asn1.ObjectIdentifier) bool {
	for _, o := range list {
		if o.Equal(id) {
			return true
		}
	}
	return false
}

// parseKeyUsage reads the BIT STRING of a keyUsage extension into Go's
// bit order (digitalSignature = 1 << 0).
func parseKeyUsage(der []byte) (x509.KeyUsage, error) {
	var bits asn1.BitString
	if _, err := asn1.Unmarshal(der, &bits); err != nil {
		return 0, fmt.Errorf("keyUsage: %w", err)
	}
	var ku x509.KeyUsage
	for i := 0; i < 9; i++ {
		if bits.At(i) != 0 {
			ku |= 1 << uint(i)
		}
	}
	return ku, nil
}

func marshalKeyUsage(ku x509.KeyUsage) ([]byte, error) {
	var b [2]byte
	n := 0
	for i := 0; i < 9; i++ {
		if ku&(1<<uint(i)) != 0 {
			b[i/8] |= 0x80 >> uint(i%8)
			n = i + 1
		}
	}
	return asn1.Marshal(asn1.BitString{Bytes: b[:(n+7)/8], BitLength: n})
}

// uuid4Int is int(uuid.uuid4()), Magnum's serial number.
func uuid4Int() *big.Int {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return new(big.Int).SetBytes(u[:])
}
