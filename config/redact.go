package config

import (
	"slices"
	"strings"
)

// Redactor replaces known secret values inside free text: error messages,
// command output, HTTP bodies echoed back by a server. The Secret type keeps
// values out of formatting; the Redactor catches them after something (a
// remote error, a tool's stderr) has already copied them into a string.
type Redactor struct{ values []string }

// minSecretLen keeps short values (e.g. a one-letter placeholder password)
// from redacting half of every message.
const minSecretLen = 4

// NewRedactor returns a Redactor for the given secret values; empty and very
// short values are ignored.
func NewRedactor(values ...string) *Redactor {
	r := &Redactor{}
	for _, v := range values {
		if len(v) >= minSecretLen && !slices.Contains(r.values, v) {
			r.values = append(r.values, v)
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortFunc(r.values, func(a, b string) int { return len(b) - len(a) })
	return r
}

// Redact returns s with every known secret value replaced by ***.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	return s
}
