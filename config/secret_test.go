package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const canary = "CANARY-s3cr3t-value"

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(canary)
	p := Params{Password: s, UserToken: s, WaitCurl: s}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		fmt.Fprintf(&out, verb+"\n", s)
		fmt.Fprintf(&out, verb+"\n", p)
		fmt.Fprintf(&out, verb+"\n", &p)
	}
	fmt.Fprintln(&out, s, p)
	js, _ := json.Marshal(p)
	out.Write(js)
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		slog.New(h).Info("x", "secret", s, "params", p, "ptr", &p)
	}
	if strings.Contains(out.String(), canary) {
		t.Fatalf("secret leaked:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "***") {
		t.Fatal("no *** in output: the test is not printing secrets at all")
	}
	if s.Reveal() != canary {
		t.Fatal("Reveal lost the value")
	}
}

func TestRedactor(t *testing.T) {
	r := NewRedactor("abc", "tokentoken", "tokentokenlonger")
	got := r.Redact("a tokentokenlonger and tokentoken and abc")
	if got != "a *** and *** and abc" {
		t.Errorf("Redact = %q", got)
	}
	var nilR *Redactor
	if nilR.Redact("x") != "x" {
		t.Error("nil redactor must pass text through")
	}
}
