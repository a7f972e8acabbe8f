package pemcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der := func(cn string) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		b, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	block := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	text := append(append(block("CERTIFICATE", der("a")), block("EC PRIVATE KEY", []byte("k"))...), block("CERTIFICATE", der("b"))...)
	certs, err := Parse(text)
	if err != nil || len(certs) != 2 || certs[0].Subject.CommonName != "a" || certs[1].Subject.CommonName != "b" {
		t.Errorf("%v %v", certs, err)
	}
	if _, err := Parse(block("EC PRIVATE KEY", []byte("k"))); !errors.Is(err, ErrNone) {
		t.Errorf("no certificate: %v", err)
	}
	if _, err := Parse(block("CERTIFICATE", []byte("garbage"))); err == nil || errors.Is(err, ErrNone) {
		t.Errorf("unreadable certificate: %v", err)
	}
}
