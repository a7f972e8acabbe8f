package userdata

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// multipart renders parts the way OS::Heat::MultipartMime does (Python's
// email.mime: MIMEMultipart of MIMEText parts, us-ascii 7bit, or utf-8
// base64 when a part is not ASCII), so cloud-init sees what it would get
// from Heat. Heat's boundary is random; ours is derived from the parts, so
// the same input renders the same bytes.
func multipart(parts []string) []byte { return multipartWith(boundaryFor(parts), parts) }

func multipartWith(boundary string, parts []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\nMIME-Version: 1.0\n\n", boundary)
	for _, p := range parts {
		fmt.Fprintf(&b, "--%s\n", boundary)
		if isASCII(p) {
			fmt.Fprintf(&b, "Content-Type: text/plain; charset=\"us-ascii\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\n\n%s\n", p)
			continue
		}
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=\"utf-8\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n%s\n", base64Lines(p))
	}
	fmt.Fprintf(&b, "--%s--\n", boundary)
	return b.Bytes()
}

// boundaryFor has Python's shape: 15 '=', 19 digits, '=='.
func boundaryFor(parts []string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	n := binary.BigEndian.Uint64(h.Sum(nil)) % math.MaxInt64 // randrange(sys.maxsize)
	return fmt.Sprintf("===============%019d==", n)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// base64Lines is email.base64mime.body_encode: 76-character lines (57
// bytes each), every one ending in a newline.
func base64Lines(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b bytes.Buffer
	for len(enc) > 0 {
		n := min(76, len(enc))
		b.WriteString(enc[:n])
		b.WriteByte('\n')
		enc = enc[n:]
	}
	return b.String()
}
