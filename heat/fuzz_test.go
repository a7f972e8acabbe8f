package heat_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/heat"
)

// FuzzParseCurlCLI checks ParseCurlCLI on arbitrary input: it never panics,
// what it accepts is usable, and no error quotes the token. The seeds
// (testdata/fuzz/FuzzParseCurlCLI) carry the canary as their token, so
// mutations keep testing that errors do not echo it.
func FuzzParseCurlCLI(f *testing.F) {
	f.Add(heatCurlCLI(false))
	f.Add(heatCurlCLI(true) + ` --data-binary '{"status": "SUCCESS"}'`)
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := heat.ParseCurlCLI(s)
		if err != nil {
			if strings.Contains(err.Error(), canary) {
				t.Fatalf("error leaks the token: %q", err)
			}
			if ep != (heat.Endpoint{}) {
				t.Fatalf("error %v with a non-zero endpoint", err)
			}
			return
		}
		u, perr := url.Parse(ep.URL)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			t.Fatalf("accepted URL %q is not an absolute http(s) URL (%v)", ep.URL, perr)
		}
		if ep.Token.IsZero() {
			t.Fatal("accepted a curl_cli without a token")
		}
		if tok := ep.Token.Reveal(); tok != strings.TrimSpace(tok) {
			t.Fatalf("token %q keeps surrounding blanks", tok)
		}
	})
}
