package heat_test

import (
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
)

func TestResolveEndpoint(t *testing.T) {
	const handleURL = "https://heat:8004/v1/p/stacks/s/i/resources/h/signal"
	tests := []struct {
		name           string
		waitCurl       string
		handleEndpoint string
		handleToken    string
		wantOK         bool
		wantURL        string
		wantInsecure   bool
		wantErr        string
	}{
		{name: "nothing configured"},
		{name: "blank values count as unset", waitCurl: " \n", handleEndpoint: " ", handleToken: "\n"},
		{name: "WAIT_CURL", waitCurl: heatCurlCLI(true), wantOK: true, wantURL: signalURL, wantInsecure: true},
		{name: "handle pair", handleEndpoint: handleURL, handleToken: canary + "\n", wantOK: true, wantURL: handleURL},
		{name: "handle pair wins over WAIT_CURL", waitCurl: heatCurlCLI(true), handleEndpoint: handleURL, handleToken: canary, wantOK: true, wantURL: handleURL},
		{name: "endpoint without token", waitCurl: heatCurlCLI(false), handleEndpoint: handleURL, wantErr: "WAIT_HANDLE_TOKEN is empty"},
		{name: "token without endpoint", handleToken: canary, wantErr: "WAIT_HANDLE_ENDPOINT is empty"},
		{name: "bad handle URL", handleEndpoint: "heat:8004/signal", handleToken: canary, wantErr: "WAIT_HANDLE_ENDPOINT: the signal URL must start with http"},
		{name: "unparsable WAIT_CURL", waitCurl: "curl -H 'X-Auth-Token: " + canary, wantErr: "WAIT_CURL: parse curl_cli: unterminated single quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, ok, err := heat.ResolveEndpoint(config.NewSecret(tt.waitCurl), tt.handleEndpoint, config.NewSecret(tt.handleToken))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), canary) || ok {
					t.Errorf("error leaks the token or ok=true: %v", err)
				}
				return
			}
			if err != nil || ok != tt.wantOK {
				t.Fatalf("ok=%v err=%v, want ok=%v and no error", ok, err, tt.wantOK)
			}
			if !ok {
				return
			}
			if ep.URL != tt.wantURL || ep.Insecure != tt.wantInsecure || ep.Token.Reveal() != canary {
				t.Errorf("got URL %q insecure %v token-ok %v", ep.URL, ep.Insecure, ep.Token.Reveal() == canary)
			}
		})
	}
}
