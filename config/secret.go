package config

import (
	"fmt"
	"log/slog"
)

// redacted is what every secret prints as, whatever the formatter.
const redacted = "***"

// Secret holds a credential (a token, a password). It formats as *** through
// fmt (every verb), log/slog, encoding/json and encoding.TextMarshaler, so a
// secret that reaches a log line, the ledger or a signal body by mistake
// leaks nothing. Reveal is the one way to get the value, and it is greppable.
type Secret struct{ v string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret value. Call it only where the value is sent to
// the party that owns it (an HTTP header, a 0600 file).
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// Format covers %v, %+v, %#v, %s, %q, %x and every other verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue keeps slog handlers (text, JSON, journal) from seeing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON and MarshalText make encoders print *** too.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
