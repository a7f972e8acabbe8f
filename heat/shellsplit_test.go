package heat

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitShell(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: `curl -i  -X POST`, want: []string{"curl", "-i", "-X", "POST"}},
		{in: `a 'b c' "d e"`, want: []string{"a", "b c", "d e"}},
		{in: `'it'\''s'`, want: []string{"it's"}},
		{in: `"a \"b\" \$x \\ \n \y"`, want: []string{`a "b" $x \ \n \y`}},
		{in: `'a \"b" $x'`, want: []string{`a \"b" $x`}},
		{in: `pre'mid'"post" ''`, want: []string{"premidpost", ""}},
		{in: `a\ b \'c`, want: []string{"a b", "'c"}},
		{in: "a \\\nb \"c\\\nd\"", want: []string{"a", "b", "cd"}},
		{in: "\t x\r\n y \n", want: []string{"x", "y"}},
		{in: "$(id)", wantErr: `shell operator "("`},
		{in: "`id` $HOME ☃", want: []string{"`id`", "$HOME", "☃"}},
		{in: `"(;|&)"`, want: []string{"(;|&)"}},
		{in: ``, want: nil},
		{in: `a 'b`, wantErr: "unterminated single quote"},
		{in: `a "b\"`, wantErr: "unterminated double quote"},
		{in: `a \`, wantErr: "backslash at the end"},
		{in: `a > b`, wantErr: `shell operator ">"`},
		{in: `a;b`, wantErr: `shell operator ";"`},
	}
	for _, tt := range tests {
		got, err := splitShell(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("splitShell(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitShell(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
