package config

import (
	"errors"
	"strings"
	"testing"
)

func TestReadHeatParams(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  map[string]string
		warns int
		err   string // substring of the error; "" = no error
	}{
		{name: "magnum format", in: "A=\"1\"\nB=\"two words\"\n", want: map[string]string{"A": "1", "B": "two words"}},
		{name: "comments blank crlf", in: "# c\n\n  # indented\r\nA=\"x\"\r\n", want: map[string]string{"A": "x"}},
		{name: "unquoted and single quoted", in: "A=plain\nB='single'\nC=\nD=\"\"\n", want: map[string]string{"A": "plain", "B": "single", "C": "", "D": ""}},
		{name: "shell syntax stays literal", in: "A=\"$(rm -rf /)\"\nB=\"`id`\"\nC=\"${HOME}\\n\"\n", want: map[string]string{"A": "$(rm -rf /)", "B": "`id`", "C": "${HOME}\\n"}},
		{name: "inner quotes literal", in: `A="say "hi""` + "\n", want: map[string]string{"A": `say "hi"`}},
		{name: "export prefix", in: "export A=\"1\"\n", want: map[string]string{"A": "1"}},
		{name: "duplicate last wins", in: "A=\"1\"\nB=\"b\"\nA=\"2\"\n", want: map[string]string{"A": "2", "B": "b"}, warns: 1},
		{name: "newline inside a value", in: "A=\"1\"\nKUBE_NODE_IP=\"10.0.0.1\nrm -rf /\"\n", err: "f:2: KUBE_NODE_IP: unterminated"},
		{name: "no equals", in: "A=\"1\"\nJUSTAKEY\n", err: "f:2: JUSTAKEY: expected"},
		{name: "bad key", in: "1A=\"x\"\n", err: "f:1: \"1A\" is not a valid key name"},
		{name: "trailing garbage after quote", in: "A=\"x\"y\n", err: "f:1: A: unterminated"},
		{name: "lone quote", in: "A=\"\n", err: "f:1: A: unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, warns, err := ReadHeatParams("f", []byte(tt.in))
			if tt.err != "" {
				var pe *ParseError
				if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want ParseError containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range entries {
				got[e.Key] = e.Value
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if len(warns) != tt.warns {
				t.Errorf("warnings = %v, want %d", warns, tt.warns)
			}
		})
	}
}

func TestRenderRoundTrip(t *testing.T) {
	in := []Entry{{Key: "A", Value: "x y"}, {Key: "B", Value: `$(id) "q"`}}
	out, _, err := ReadHeatParams("f", RenderHeatParams(in))
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i].Key != in[i].Key || out[i].Value != in[i].Value {
			t.Errorf("entry %d = %+v, want %+v", i, out[i], in[i])
		}
	}
}

func TestSalvageFindsWaitCurlInBrokenFile(t *testing.T) {
	p := Salvage([]byte("KUBE_NODE_IP=\"10.0.0.1\nbroken\"\nWAIT_CURL=\"curl -H 'X-Auth-Token: t' http://h/x\"\n"))
	if got := p.WaitCurl.Reveal(); !strings.HasPrefix(got, "curl ") {
		t.Fatalf("WAIT_CURL = %q", got)
	}
}

// FuzzReadHeatParams: any input either parses or yields a ParseError naming
// a line; never a panic; parsed entries render back to the same entries.
func FuzzReadHeatParams(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _, err := ReadHeatParams("fuzz", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		again, _, err := ReadHeatParams("fuzz", RenderHeatParams(entries))
		if err != nil {
			// Values with a quote at the end or CR/newline cannot be
			// rendered back; that is fine, but must not panic.
			return
		}
		if len(again) != len(entries) {
			t.Fatalf("round trip changed entry count: %d -> %d", len(entries), len(again))
		}
		_ = Salvage(data)
	})
}
