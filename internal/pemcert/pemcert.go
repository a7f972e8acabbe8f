// Package pemcert reads the certificates out of PEM text, as Magnum's
// "pem" fields and the files under /srv/kubernetes hold them.
package pemcert

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
)

// ErrNone is Parse's error for text without a CERTIFICATE block.
var ErrNone = errors.New("no PEM certificate")

// Parse returns every CERTIFICATE block of data, in order; other blocks
// (a key, say) are skipped. An unreadable certificate is x509's error.
func Parse(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, ErrNone
	}
	return certs, nil
}
