package magnumtest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// authBody is the password-method request Newton's make-cert sent
// (spec §5.1 [N]), optionally scoped to a trust.
func authBody(userID, password, trustID string) map[string]any {
	auth := map[string]any{"identity": map[string]any{
		"methods":  []string{"password"},
		"password": map[string]any{"user": map[string]any{"id": userID, "password": password}},
	}}
	if trustID != "" {
		auth["scope"] = map[string]any{"OS-TRUST:trust": map[string]any{"id": trustID}}
	}
	return map[string]any{"auth": auth}
}

func TestKeystoneTrustScopedToken(t *testing.T) {
	w := newWorld(t, magnumtest.Options{Release: magnumtest.Newton})
	tokens := w.Keystone.URL + "/v3/auth/tokens"

	a := call(t, http.MethodPost, tokens, "", nil, authBody(w.trustee, "trustee-pw", w.trust))
	expect(t, "trust-scoped token", a, http.StatusCreated)
	tok := a.header.Get("X-Subject-Token")
	if tok == "" {
		t.Fatal("no X-Subject-Token header")
	}
	if strings.Contains(a.raw, tok) {
		t.Error("the token is in the body; keystone sends it only as X-Subject-Token")
	}
	doc := a.doc["token"].(map[string]any)
	// Magnum's trusts impersonate: the token acts as the trustor.
	if u := doc["user"].(map[string]any)["id"]; u != w.owner {
		t.Errorf("token user %v, want the trustor %s", u, w.owner)
	}
	tr := doc["OS-TRUST:trust"].(map[string]any)
	if tr["id"] != w.trust || tr["impersonation"] != true || tr["trustee_user"].(map[string]any)["id"] != w.trustee {
		t.Errorf("OS-TRUST:trust %v", tr)
	}
	for _, f := range []string{"expires_at", "issued_at", "methods", "project", "roles", "catalog"} {
		if _, ok := doc[f]; !ok {
			t.Errorf("token lacks %q: %v", f, doc)
		}
	}
	// The token works on Magnum, as the trustor, and the emulator
	// records whose token and which trust it was.
	expect(t, "GET with the trust token", w.get(t, w.cluster.UUID, tok, nil), http.StatusOK)
	reqs := w.Requests()
	if last := reqs[len(reqs)-1]; last.User != w.owner || last.Trust != w.trust {
		t.Errorf("recorded token identity %q/%q, want %q/%q", last.User, last.Trust, w.owner, w.trust)
	}

	// An unscoped token of the trustee is the trustee's own.
	a = call(t, http.MethodPost, tokens, "", nil, authBody(w.trustee, "trustee-pw", ""))
	expect(t, "unscoped token", a, http.StatusCreated)
	if u := a.doc["token"].(map[string]any)["user"].(map[string]any)["id"]; u != w.trustee {
		t.Errorf("unscoped token user %v", u)
	}
}

func TestKeystoneRefusals(t *testing.T) {
	w := newWorld(t, magnumtest.Options{})
	tokens := w.Keystone.URL + "/v3/auth/tokens"
	for _, tc := range []struct {
		name   string
		body   any
		status int
		detail string
	}{
		{"wrong password", authBody(w.trustee, "nope", w.trust), http.StatusUnauthorized, "requires authentication"},
		{"unknown user", authBody("0000", "trustee-pw", w.trust), http.StatusUnauthorized, "requires authentication"},
		{"unknown trust", authBody(w.trustee, "trustee-pw", "feedface"), http.StatusNotFound, "Could not find trust: feedface."},
		{"trust of another trustee", authBody(w.stranger, "other-pw", w.trust), http.StatusForbidden, "not authorized"},
		{"no auth", map[string]any{"nope": 1}, http.StatusBadRequest, "Expecting to find auth"},
		{"not JSON", "{", http.StatusBadRequest, "Expecting to find auth"},
		{"token method", map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"token"}}}},
			http.StatusBadRequest, "Expecting to find identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, http.MethodPost, tokens, "", nil, tc.body)
			expect(t, tc.name, a, tc.status)
			if !strings.Contains(a.detail(), tc.detail) || a.header.Get("X-Subject-Token") != "" {
				t.Errorf("detail %q (want %q), X-Subject-Token %q", a.detail(), tc.detail, a.header.Get("X-Subject-Token"))
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Keystone uri=") {
				t.Errorf("401 without WWW-Authenticate: %v", a.header)
			}
		})
	}
	expect(t, "GET tokens", call(t, http.MethodGet, tokens, "", nil, nil), http.StatusMethodNotAllowed)
	expect(t, "unknown path", call(t, http.MethodGet, w.Keystone.URL+"/v2.0/tokens", "", nil, nil), http.StatusNotFound)
	v := call(t, http.MethodGet, w.AuthURL(), "", nil, nil)
	expect(t, "version document", v, http.StatusOK)
	if v.doc["version"].(map[string]any)["status"] != "stable" {
		t.Errorf("version document %v", v.doc)
	}
	// No keystone request body is recorded: those hold passwords.
	for _, r := range w.Requests() {
		if r.Service == "keystone" && r.Body != "" {
			t.Errorf("keystone body recorded: %q", r.Body)
		}
	}
}

// keystonemiddleware in front of Magnum: no, unknown or expired tokens are
// a 401 with keystone's body, before any route or policy.
func TestMagnumRequiresAValidToken(t *testing.T) {
	w := newWorld(t, magnumtest.Options{})
	tok := w.UserToken(w.owner)
	expect(t, "valid", w.get(t, w.cluster.UUID, tok, nil), http.StatusOK)
	w.ExpireToken(tok)
	for name, token := range map[string]string{"none": "", "unknown": "gAAAAAbogus", "expired": tok} {
		for _, a := range []answer{w.get(t, w.cluster.UUID, token, nil), w.post(t, token, nil, map[string]any{"bay_uuid": w.cluster.UUID, "csr": "x"}),
			w.get(t, "no-such-cluster", token, nil)} {
			expect(t, name+" token", a, http.StatusUnauthorized)
			if a.detail() != "The request you have made requires authentication." || a.header.Get("WWW-Authenticate") != `Keystone uri="`+w.AuthURL()+`"` {
				t.Errorf("%s token: %v %s", name, a.header, a.raw)
			}
		}
	}
	// Tokens live TokenTTL on the cloud's clock.
	clock := newClock(now)
	c := magnumtest.New(magnumtest.Options{Now: clock.Now})
	defer c.Close()
	u := c.AddUser("u", "p", false)
	cl, err := c.AddCluster("c", u, "")
	if err != nil {
		t.Fatal(err)
	}
	tok = c.UserToken(u)
	get := func() int {
		return call(t, http.MethodGet, c.MagnumURL()+"/certificates/"+cl.UUID, tok, nil, nil).status
	}
	if got := get(); got != http.StatusOK {
		t.Fatalf("fresh token: %d", got)
	}
	clock.Set(now.Add(time.Hour))
	if got := get(); got != http.StatusUnauthorized {
		t.Fatalf("token after its hour: %d", got)
	}
}
