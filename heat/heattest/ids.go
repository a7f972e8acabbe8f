package heattest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

// newUUID is a random RFC 4122 v4 UUID, the format of Heat stack ids and
// oslo request ids.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newKeystoneID is the 32-hex-digit form keystone uses for users, projects
// and domains.
func newKeystoneID() string { return hex.EncodeToString(randomBytes(16)) }

// newFernetLikeToken looks like a keystone fernet token (base64url starting
// "gAAAAA", ~180 characters) so that agents meet realistic header sizes.
func newFernetLikeToken() string {
	return "gAAAAAB" + base64.RawURLEncoding.EncodeToString(randomBytes(132))
}

// newShortID mimics heat.common.short_id, used in physical resource names.
func newShortID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := randomBytes(12)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// pyURLQuote is urllib.parse.quote(s, safe=”), which HeatIdentifier.url_path
// applies to every path component of the signal endpoint (§1).
func pyURLQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
