package heat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/heat"
)

// canary is a fake keystone token; no error may ever contain it. It has the
// mixed case and underscores of a fernet token.
const canary = "gAAAAACanaryTok3n_x9Zq-SECRET_not_for_logs"

const signalURL = "http://heat:8004/v1/b1e2/stacks/k8s-abc-kube_masters-xyz-0-def/5d0c/resources/master_wait_handle/signal"

// heatCurlCLI is the exact curl_cli string Heat renders (§1).
func heatCurlCLI(insecure bool) string {
	prefix := "curl "
	if insecure {
		prefix += "--insecure "
	}
	return prefix + "-i -X POST -H 'X-Auth-Token: " + canary + "' -H 'Content-Type: application/json' -H 'Accept: application/json' " + signalURL
}

func TestParseCurlCLI(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		url      string // expected on success
		insecure bool
		wantErr  string // substring of the error; "" means success
	}{
		{name: "heat format", in: heatCurlCLI(false), url: signalURL},
		{name: "heat format insecure", in: heatCurlCLI(true), url: signalURL, insecure: true},
		{name: "template appends data-binary", in: heatCurlCLI(false) + ` --data-binary '{"status": "SUCCESS"}'`, url: signalURL},
		{name: "mitaka eval style escaped quotes", in: heatCurlCLI(false) + ` --data-binary "{\"status\": \"SUCCESS\"}"`, url: signalURL},
		{name: "VERIFY_CA after URL", in: heatCurlCLI(false) + " -k --data-binary '{}'", url: signalURL, insecure: true},
		{name: "cacert consumed", in: heatCurlCLI(false) + " --cacert /etc/pki/ca.crt", url: signalURL},
		{name: "double-quoted header and URL", in: `curl -i -X POST -H "X-Auth-Token: ` + canary + `" "` + signalURL + `"`, url: signalURL},
		{name: "header name case-insensitive", in: `curl -H 'x-auth-token:` + canary + `' ` + signalURL, url: signalURL},
		{name: "long header and request", in: `curl --request POST --header 'X-Auth-Token: ` + canary + `' ` + signalURL, url: signalURL},
		{name: "clustered and glued short options", in: `curl -ik -XPOST -H'X-Auth-Token: ` + canary + `' -d x ` + signalURL, url: signalURL, insecure: true},
		{name: "backslash escapes outside quotes", in: `curl -H X-Auth-Token:\ ` + canary + ` ` + signalURL, url: signalURL},
		{name: "line continuation and CRLF", in: "curl -i \\\n -H 'X-Auth-Token: " + canary + "' " + signalURL + "\r\n", url: signalURL},
		{name: "dollar not expanded", in: `curl -H 'X-Auth-Token: ` + canary + `' ` + signalURL + `?a=$HOME`, url: signalURL + "?a=$HOME"},
		{name: "https URL", in: `curl -H 'X-Auth-Token: ` + canary + `' https://heat.example:13004/v1/p/stacks/s/i/resources/h/signal`, url: "https://heat.example:13004/v1/p/stacks/s/i/resources/h/signal"},

		{name: "missing token", in: `curl -i -X POST -H 'Content-Type: application/json' ` + signalURL, wantErr: "no -H 'X-Auth-Token"},
		{name: "empty token", in: `curl -H 'X-Auth-Token: ' ` + signalURL, wantErr: "X-Auth-Token header is empty"},
		{name: "missing URL", in: `curl -i -X POST -H 'X-Auth-Token: ` + canary + `'`, wantErr: "no URL"},
		{name: "two URLs", in: heatCurlCLI(false) + " http://other/", wantErr: "2 arguments that are not options"},
		{name: "unquoted token header", in: `curl -H X-Auth-Token: ` + canary + ` ` + signalURL, wantErr: "are the header values quoted"},
		{name: "not curl", in: `wget -H 'X-Auth-Token: ` + canary + `' ` + signalURL, wantErr: "must start with curl"},
		{name: "curl path", in: `/usr/bin/curl -H 'X-Auth-Token: ` + canary + `' ` + signalURL, wantErr: "must start with curl"},
		{name: "empty", in: "  \n", wantErr: "empty command"},
		{name: "unterminated single quote", in: `curl -H 'X-Auth-Token: ` + canary + ` ` + signalURL, wantErr: "unterminated single quote"},
		{name: "unterminated double quote", in: `curl -H "X-Auth-Token: ` + canary + ` ` + signalURL, wantErr: "unterminated double quote"},
		{name: "trailing backslash", in: `curl -H 'X-Auth-Token: ` + canary + `' ` + signalURL + `\`, wantErr: "backslash at the end"},
		{name: "shell operator", in: heatCurlCLI(false) + "; rm -rf /", wantErr: `shell operator ";"`},
		{name: "unknown long option", in: heatCurlCLI(false) + " --cert /x.pem", wantErr: "unsupported curl option --cert"},
		{name: "unknown short option", in: `curl -iv -H 'X-Auth-Token: ` + canary + `' ` + signalURL, wantErr: "unsupported curl option -v"},
		{name: "option with = form", in: `curl --header='X-Auth-Token: ` + canary + `' ` + signalURL, wantErr: "unsupported curl option (not shown)"},
		{name: "token misplaced as option", in: `curl -H 'X-Auth-Token: ` + canary + `' --` + canary + ` ` + signalURL, wantErr: "unsupported curl option"},
		{name: "option missing argument", in: `curl ` + signalURL + ` -H`, wantErr: "option -H needs an argument"},
		{name: "long option missing argument", in: heatCurlCLI(false) + ` --data-binary`, wantErr: "option --data-binary needs an argument"},
		{name: "PUT is another transport", in: `curl -i -X PUT -H 'X-Auth-Token: ` + canary + `' ` + signalURL, wantErr: "-X PUT"},
		{name: "two different tokens", in: heatCurlCLI(false) + ` -H 'X-Auth-Token: other-token'`, wantErr: "two X-Auth-Token headers"},
		{name: "URL without scheme", in: `curl -H 'X-Auth-Token: ` + canary + `' heat:8004/v1/signal`, wantErr: "http:// or https://"},
		{name: "ftp URL", in: `curl -H 'X-Auth-Token: ` + canary + `' ftp://heat/signal`, wantErr: "http:// or https://"},
		{name: "URL without host", in: `curl -H 'X-Auth-Token: ` + canary + `' http:///v1/signal`, wantErr: "no host"},
		{name: "token where the URL goes", in: `curl -H 'X-Auth-Token: ` + canary + `' ` + canary, wantErr: "http:// or https://"},
		{name: "unparsable URL holding the token", in: `curl -H 'X-Auth-Token: ` + canary + `' 'http://h/%zz` + canary + `'`, wantErr: "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := heat.ParseCurlCLI(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("got %+v, want error containing %q", ep, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), canary) {
					t.Errorf("error leaks the token: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if ep.URL != tt.url {
				t.Errorf("URL = %q, want %q", ep.URL, tt.url)
			}
			if ep.Token.Reveal() != canary {
				t.Errorf("token = %q, want the canary", ep.Token.Reveal())
			}
			if ep.Insecure != tt.insecure {
				t.Errorf("Insecure = %v, want %v", ep.Insecure, tt.insecure)
			}
		})
	}
}

// A printed Endpoint (a log line, a %+v in an error) must not show the token.
func TestEndpointPrintsNoToken(t *testing.T) {
	ep, err := heat.ParseCurlCLI(heatCurlCLI(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%v", ep), fmt.Sprintf("%+v", ep), fmt.Sprintf("%#v", ep)} {
		if strings.Contains(s, canary) {
			t.Errorf("formatted endpoint leaks the token: %s", s)
		}
	}
}
