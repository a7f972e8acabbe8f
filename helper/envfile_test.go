package helper

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseEnv(t *testing.T) {
	t.Parallel()
	got, err := parseEnv("# comment\n; also a comment\n\r\n" +
		"A=plain\n" +
		"  B = spaced  \n" +
		"C=\"double \\\"quoted\\\" \\\\ \\$HOME \\n\"\r\n" +
		"D='single \"literal\" \\n'\n" +
		"E=\n" +
		"F=\"\"\n" +
		"A=override\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "override", "B": "spaced", "C": `double "quoted" \ $HOME \n`, "D": `single "literal" \n`, "E": "", "F": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestParseEnvStrict(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"export A=1":       "line 1: want KEY=value",
		"A":                "line 1: want KEY=value",
		"1A=x":             "line 1: want KEY=value",
		"A-B=x":            "line 1: want KEY=value",
		"=x":               "line 1: want KEY=value",
		"A=\"x":            "line 1 (A): unterminated double quote",
		"A='x":             "line 1 (A): unterminated single quote",
		"A=\"x\" y":        `line 1 (A): unexpected " y" after the closing quote`,
		"A='x'y":           `line 1 (A): unexpected "y" after the closing quote`,
		"A=x\"y":           "line 1 (A): quote inside an unquoted value",
		"A=x \\":           "line 1 (A): line continuations are not supported",
		"OK=1\n\nB=\"\\\"": "line 3 (B): unterminated double quote",
	} {
		_, err := parseEnv(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseEnv(%q) = %v, want error containing %q", in, err, want)
		}
	}
}
