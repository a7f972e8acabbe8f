package heattest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func passwordAuth(userID, password, projectID string) string {
	return fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":%q,"password":%q}}},`+
		`"scope":{"project":{"id":%q}}}}`, userID, password, projectID)
}

func authTokens(t *testing.T, f *fixture, body string) response {
	t.Helper()
	return do(t, http.MethodPost, f.s.URL()+"/v3/auth/tokens", strings.NewReader(body), "Content-Type", "application/json")
}

// TestHeatSignalFlow is the HEAT_SIGNAL transport: password auth, then
// signal with the fresh token, which outlives the TOKEN_SIGNAL token.
func TestHeatSignalFlow(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{Timeout: 12 * time.Hour})
	f.clock.Advance(2 * time.Hour) // the handle's own token has expired
	if r := f.signal(wc, validBody); r.code != 401 {
		t.Fatalf("stale TOKEN_SIGNAL token: %d, want 401", r.code)
	}

	r := authTokens(t, f, passwordAuth(wc.UserID(), wc.Password(), wc.ProjectID()))
	checkRequestID(t, r)
	if r.code != http.StatusCreated {
		t.Fatalf("auth: %d %s", r.code, r.body)
	}
	tok := r.header.Get("X-Subject-Token")
	if !strings.HasPrefix(tok, "gAAAAA") {
		t.Fatalf("X-Subject-Token = %q", tok)
	}
	if got := r.jsonField(t, "token", "user", "id"); got != wc.UserID() {
		t.Errorf("token.user.id = %v", got)
	}
	if got := r.jsonField(t, "token", "project", "id"); got != wc.ProjectID() {
		t.Errorf("token.project.id = %v", got)
	}
	roles := r.jsonField(t, "token", "roles").([]any)
	if len(roles) != 1 || roles[0].(map[string]any)["name"] != "heat_stack_user" {
		t.Errorf("roles = %v, want [heat_stack_user]", roles)
	}
	wantExpiry := f.clock.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z")
	if got := r.jsonField(t, "token", "expires_at"); got != wantExpiry {
		t.Errorf("expires_at = %v, want %s", got, wantExpiry)
	}
	var orchestration string
	for _, e := range r.jsonField(t, "token", "catalog").([]any) {
		e := e.(map[string]any)
		if e["type"] == "orchestration" {
			orchestration = e["endpoints"].([]any)[0].(map[string]any)["url"].(string)
		}
	}
	if orchestration != f.s.URL()+"/v1/"+wc.ProjectID() {
		t.Errorf("orchestration endpoint = %q", orchestration)
	}

	sig := do(t, http.MethodPost, wc.Endpoint(), strings.NewReader(validBody), "X-Auth-Token", tok, "Content-Type", "application/json")
	if sig.code != 200 || sig.body != "null" {
		t.Fatalf("signal with fresh token: %d %q", sig.code, sig.body)
	}
	if st, err := wc.WaitFor(t.Context()); err != nil || st != StatusComplete {
		t.Errorf("WaitFor = %s, %v", st, err)
	}
}

func TestKeystoneAuthFailures(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	other := f.s.CreateWaitCondition(WaitConditionSpec{StackName: "other"})
	cases := []struct {
		name string
		body string
		code int
	}{
		{"wrong password", passwordAuth(wc.UserID(), "nope", wc.ProjectID()), 401},
		{"unknown user", passwordAuth("0123", wc.Password(), wc.ProjectID()), 401},
		{"project without a role", passwordAuth(wc.UserID(), wc.Password(), other.ProjectID()), 401},
		{"unknown project", passwordAuth(wc.UserID(), wc.Password(), "nope"), 401},
		{"not JSON", `auth=1`, 400},
		{"no auth", `{}`, 400},
		{"no password method", `{"auth":{"identity":{"methods":["token"],"token":{"id":"x"}}}}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := authTokens(t, f, tc.body)
			if r.code != tc.code {
				t.Fatalf("code = %d, want %d (%s)", r.code, tc.code, r.body)
			}
			if tc.code == 401 {
				if r.body != keystone401 {
					t.Errorf("body = %s", r.body)
				}
				if r.header.Get("X-Subject-Token") != "" {
					t.Error("a failed auth returned a token")
				}
				if got := r.header.Get("WWW-Authenticate"); got != `Keystone uri="`+f.s.URL()+`"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			}
		})
	}
}

func TestKeystoneAuthByName(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	f.s.mu.Lock()
	name := wc.st.handle.user.name
	f.s.mu.Unlock()
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"domain":{"name":"heat"},"password":%q}}},"scope":{"project":{"id":%q}}}}`,
		name, wc.Password(), wc.ProjectID())
	if r := authTokens(t, f, body); r.code != 201 {
		t.Errorf("auth by name: %d %s", r.code, r.body)
	}
	unscoped := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":%q,"password":%q}}}}}`, wc.UserID(), wc.Password())
	r := authTokens(t, f, unscoped)
	if r.code != 201 {
		t.Fatalf("unscoped auth: %d %s", r.code, r.body)
	}
	// An unscoped token authenticates but has no project: 403 at heat-api.
	sig := do(t, http.MethodPost, wc.Endpoint(), strings.NewReader(validBody), "X-Auth-Token", r.header.Get("X-Subject-Token"))
	if sig.code != 403 {
		t.Errorf("signal with unscoped token: %d, want 403", sig.code)
	}
}

func TestTokenValidation(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	url := f.s.URL() + "/v3/auth/tokens"
	if r := do(t, http.MethodGet, url, nil, "X-Auth-Token", f.s.AdminToken(), "X-Subject-Token", wc.Token()); r.code != 200 ||
		r.header.Get("X-Subject-Token") != wc.Token() || r.jsonField(t, "token", "user", "id") != wc.UserID() {
		t.Errorf("validate: %d %s", r.code, r.body)
	}
	f.s.ExpireToken(wc.Token())
	if r := do(t, http.MethodGet, url, nil, "X-Auth-Token", f.s.AdminToken(), "X-Subject-Token", wc.Token()); r.code != 404 {
		t.Errorf("validate revoked: %d %s", r.code, r.body)
	}
	if r := do(t, http.MethodGet, url, nil, "X-Subject-Token", wc.Token()); r.code != 401 {
		t.Errorf("validate without X-Auth-Token: %d", r.code)
	}
	if r := do(t, http.MethodGet, f.s.URL()+"/v3", nil); r.code != 200 || r.jsonField(t, "version", "id") != "v3.14" {
		t.Errorf("GET /v3: %d %s", r.code, r.body)
	}
}

// TestAdminTokenNeverExpires: tests advance the clock by hours.
func TestAdminTokenNeverExpires(t *testing.T) {
	f := newFixture(t)
	wc := f.s.CreateWaitCondition(WaitConditionSpec{})
	admin := f.s.AdminToken()
	f.clock.Advance(1000 * time.Hour)
	if admin != f.s.AdminToken() {
		t.Error("AdminToken changed")
	}
	if r := do(t, http.MethodGet, strings.TrimSuffix(wc.Endpoint(), "signal")+"metadata", nil, "X-Auth-Token", admin); r.code != 200 {
		t.Errorf("admin metadata after 1000 h: %d", r.code)
	}
}
