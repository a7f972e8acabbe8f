package magnumtest

import (
	"encoding/json"
	"net/http"
)

// serveKeystone is the identity v3 subset a node uses: token issue.
func (c *Cloud) serveKeystone(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v3" || r.URL.Path == "/v3/":
		writeJSON(w, http.StatusOK, map[string]any{"version": map[string]any{
			"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
			"links":       []any{map[string]any{"rel": "self", "href": c.AuthURL() + "/"}},
			"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
		}})
	case r.URL.Path == "/v3/auth/tokens" && r.Method == http.MethodPost:
		c.issueToken(w, r)
	case r.URL.Path == "/v3/auth/tokens":
		writeKeystoneError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
	default:
		writeKeystoneError(w, http.StatusNotFound, "The resource could not be found.")
	}
}

// authRequest is the body of POST /v3/auth/tokens with the password method.
type authRequest struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *struct {
					ID       string `json:"id"`
					Password string `json:"password"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope *struct {
			Trust *struct {
				ID string `json:"id"`
			} `json:"OS-TRUST:trust"`
		} `json:"scope"`
	} `json:"auth"`
}

func missingAttr(attr, target string) string {
	return "Expecting to find " + attr + " in " + target + ". The server could not comply with the request " +
		"since it is either malformed or otherwise incorrect. The client is assumed to be in error."
}

// issueToken authenticates a user by id and password and, with an
// OS-TRUST:trust scope, checks the trust names that user as trustee. With
// impersonation (Magnum's trusts) the token acts as the trustor.
func (c *Cloud) issueToken(w http.ResponseWriter, r *http.Request) {
	var req authRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Auth == nil {
		writeKeystoneError(w, http.StatusBadRequest, missingAttr("auth", "request body"))
		return
	}
	id := req.Auth.Identity
	if id == nil || id.Password == nil || id.Password.User == nil || len(id.Methods) != 1 || id.Methods[0] != "password" {
		writeKeystoneError(w, http.StatusBadRequest, missingAttr("identity", "auth"))
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.users[id.Password.User.ID]
	if u == nil || u.password != id.Password.User.Password {
		writeUnauthorized(w, c.AuthURL())
		return
	}
	acting, trustID := u, ""
	var t *trust
	if req.Auth.Scope != nil && req.Auth.Scope.Trust != nil {
		t = c.trusts[req.Auth.Scope.Trust.ID]
		if t == nil {
			writeKeystoneError(w, http.StatusNotFound, "Could not find trust: "+req.Auth.Scope.Trust.ID+".")
			return
		}
		if t.trustee != u.id {
			writeKeystoneError(w, http.StatusForbidden, "You are not authorized to perform the requested action.")
			return
		}
		trustID = t.id
		if t.impersonation {
			acting = c.users[t.trustor]
		}
	}
	tok := c.mintLocked(acting.id, trustID)
	doc := map[string]any{
		"methods":    []string{"password"},
		"user":       map[string]any{"id": acting.id, "name": acting.name, "domain": map[string]any{"id": "default", "name": "Default"}},
		"expires_at": c.tokens[tok].expires.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  c.opts.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
		"audit_ids":  []string{keystoneID()[:22]},
	}
	if t != nil {
		doc["OS-TRUST:trust"] = map[string]any{"id": t.id, "impersonation": t.impersonation,
			"trustee_user": map[string]any{"id": t.trustee}, "trustor_user": map[string]any{"id": t.trustor}}
		doc["project"] = map[string]any{"id": t.project, "name": "cluster", "domain": map[string]any{"id": "default", "name": "Default"}}
		doc["roles"] = []any{map[string]any{"id": keystoneID(), "name": "member"}}
		doc["catalog"] = []any{}
	}
	w.Header().Set("X-Subject-Token", tok)
	writeJSON(w, http.StatusCreated, map[string]any{"token": doc})
}
