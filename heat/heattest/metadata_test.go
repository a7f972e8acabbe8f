package heattest

import (
	"net/http"
	"strings"
	"testing"
)

func metadataURL(wc *WaitCondition, resource string) string {
	return strings.Replace(strings.TrimSuffix(wc.Endpoint(), "signal")+"metadata", "/master_wait_handle/", "/"+resource+"/", 1)
}

// TestMetadataRoute: §9, the handle's own token cannot read its signals back.
func TestMetadataRoute(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	send(f, wc, js(`{"status":"SUCCESS","reason":"ok","data":"x","id":"1"}`))
	send(f, wc, js(`{"data":[1,2]}`))
	f.s.Settle()
	admin := f.s.AdminToken()
	cases := []struct {
		name   string
		method string
		url    string
		token  string
		code   int
		body   string
	}{
		{"handle token before and after signals", "GET", metadataURL(wc, "master_wait_handle"), wc.Token(), 403,
			faultJSON(403, "Forbidden", "Access was denied to this resource.", "Forbidden", "You are not authorized to use this action.")},
		{"admin reads the handle", "GET", metadataURL(wc, "master_wait_handle"), admin, 200,
			`{"metadata": {"1": {"status": "SUCCESS", "reason": "ok", "data": "x"}, "2": {"data": [1, 2], "reason": "Signal 2 received", "status": "SUCCESS"}}}`},
		{"admin reads the WC", "GET", metadataURL(wc, "master_wait_condition"), admin, 200, `{"metadata": {}}`},
		{"admin, unknown resource", "GET", metadataURL(wc, "nope"), admin, 404,
			faultJSON(404, "Not Found", "The resource could not be found.", "ResourceNotFound", "The Resource (nope) could not be found in Stack stack.")},
		{"no token", "GET", metadataURL(wc, "master_wait_handle"), "", 401, keystone401},
		{"POST is not allowed", "POST", metadataURL(wc, "master_wait_handle"), admin, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{}
			if tc.token != "" {
				headers = append(headers, "X-Auth-Token", tc.token)
			}
			r := do(t, tc.method, tc.url, nil, headers...)
			checkRequestID(t, r)
			if r.code != tc.code {
				t.Fatalf("code = %d, want %d: %s", r.code, tc.code, r.body)
			}
			if tc.body != "" && r.body != tc.body {
				t.Errorf("body =\n%s\nwant\n%s", r.body, tc.body)
			}
		})
	}
	if r := do(t, http.MethodOptions, metadataURL(wc, "master_wait_handle"), nil, "X-Auth-Token", admin); r.code != 204 || r.header.Get("Allow") != "GET" {
		t.Errorf("OPTIONS: %d Allow=%q", r.code, r.header.Get("Allow"))
	}
}
