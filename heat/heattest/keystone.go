package heattest

import (
	"net/http"
	"slices"
	"time"
)

// The keystone half of the emulator: just enough identity v3 for the
// TOKEN_SIGNAL token and for HEAT_SIGNAL password auth (§1, §7 "Keystone").

const (
	roleStackUser = "heat_stack_user"
	roleAdmin     = "admin"
	roleMember    = "member"
	roleReader    = "reader"
)

type user struct {
	id, name, password, domainID string
	roles                        map[string][]string // project id → role names
}

type project struct{ id, name, domainID string }

type token struct {
	userID, projectID string // projectID is "" for an unscoped token
	roles             []string
	issued, expires   time.Time
	noExpiry, revoked bool
	audit             string
}

func (t *token) hasRole(names ...string) bool {
	return slices.ContainsFunc(t.roles, func(r string) bool { return slices.Contains(names, r) })
}

func (s *Server) addProjectLocked(name, domainID string) *project {
	p := &project{id: newKeystoneID(), name: name, domainID: domainID}
	s.projects[p.id] = p
	return p
}

func (s *Server) addUserLocked(name, password, domainID string) *user {
	u := &user{id: newKeystoneID(), name: name, password: password, domainID: domainID, roles: map[string][]string{}}
	s.users[u.id] = u
	return u
}

// mintLocked is a successful password auth scoped to projectID.
func (s *Server) mintLocked(u *user, projectID string) string {
	now := s.opts.Now()
	id := newFernetLikeToken()
	s.tokens[id] = &token{
		userID: u.id, projectID: projectID, roles: slices.Clone(u.roles[projectID]),
		issued: now, expires: now.Add(s.opts.TokenTTL), audit: newFernetLikeToken()[7:29],
	}
	return id
}

// validTokenLocked is what keystonemiddleware accepts: known, not revoked,
// and now < expires_at.
func (s *Server) validTokenLocked(id string) *token {
	t := s.tokens[id]
	if t == nil || t.revoked || !t.noExpiry && !s.opts.Now().Before(t.expires) {
		return nil
	}
	return t
}

// ExpireToken revokes token: every later use answers 401.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[token]; t != nil {
		t.revoked = true
	}
}

// AdminToken returns a never-expiring token with role admin in its own
// project; it can read handle metadata (§9) and bypasses project checks.
func (s *Server) AdminToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == "" {
		p := s.addProjectLocked("admin", "default")
		u := s.addUserLocked("admin", newKeystoneID(), "default")
		u.roles[p.id] = []string{roleAdmin, roleMember, roleReader}
		s.admin = s.mintLocked(u, p.id)
		s.tokens[s.admin].noExpiry = true
	}
	return s.admin
}

func (s *Server) serveIdentityVersion(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeKeystoneError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
		return
	}
	writePyJSON(w, http.StatusOK, pyObj("version", pyObj(
		"id", "v3.14", "status", "stable", "updated", "2020-04-07T00:00:00Z",
		"links", []*pyValue{pyObj("rel", "self", "href", s.baseURL(r)+"/v3/")},
		"media-types", []*pyValue{pyObj("base", "application/json", "type", "application/vnd.openstack.identity-v3+json")},
	)))
}

func (s *Server) serveTokens(w http.ResponseWriter, r *http.Request, body []byte) {
	switch r.Method {
	case http.MethodPost:
		s.issueToken(w, r, body)
	case http.MethodGet, http.MethodHead:
		s.showToken(w, r)
	default:
		writeKeystoneError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
	}
}

func missingAttr(attr, target string) string {
	return "Expecting to find " + attr + " in " + target + ". The server could not comply with the request " +
		"since it is either malformed or otherwise incorrect. The client is assumed to be in error."
}

// issueToken is POST /v3/auth/tokens with the password method.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, body []byte) {
	req, err := pyLoads(body)
	auth := dictAt(req, "auth")
	if err != nil || auth == nil {
		writeKeystoneError(w, http.StatusBadRequest, missingAttr("auth", "request body"))
		return
	}
	pw := dictAt(auth, "identity", "password", "user")
	if pw == nil || !listHasString(dictAt(auth, "identity").get("methods"), "password") {
		writeKeystoneError(w, http.StatusBadRequest, missingAttr("identity", "auth"))
		return
	}
	s.mu.Lock()
	u := s.findUserLocked(pw)
	var projectID string
	ok := u != nil && stringAt(pw, "password") == u.password
	if scope := dictAt(auth, "scope", "project"); ok && scope != nil {
		p := s.findProjectLocked(scope)
		ok = p != nil && len(u.roles[p.id]) > 0
		if ok {
			projectID = p.id
		}
	}
	var id string
	var doc *pyValue
	if ok {
		id = s.mintLocked(u, projectID)
		doc = s.tokenDocLocked(s.tokens[id], s.baseURL(r))
	}
	s.mu.Unlock()
	if !ok {
		writeKeystoneUnauthorized(w, s.baseURL(r))
		return
	}
	w.Header().Set("X-Subject-Token", id)
	writePyJSON(w, http.StatusCreated, doc)
}

// showToken is GET /v3/auth/tokens (token validation), as keystonemiddleware does it.
func (s *Server) showToken(w http.ResponseWriter, r *http.Request) {
	subject := r.Header.Get("X-Subject-Token")
	s.mu.Lock()
	caller := s.validTokenLocked(r.Header.Get("X-Auth-Token"))
	t := s.validTokenLocked(subject)
	var doc *pyValue
	if caller != nil && t != nil {
		doc = s.tokenDocLocked(t, s.baseURL(r))
	}
	s.mu.Unlock()
	switch {
	case caller == nil:
		writeKeystoneUnauthorized(w, s.baseURL(r))
	case t == nil:
		writeKeystoneError(w, http.StatusNotFound, "Could not find token: "+subject+".")
	default:
		w.Header().Set("X-Subject-Token", subject)
		writePyJSON(w, http.StatusOK, doc)
	}
}

func (s *Server) findUserLocked(spec *pyValue) *user {
	if id := stringAt(spec, "id"); id != "" {
		return s.users[id]
	}
	name, dom := stringAt(spec, "name"), dictAt(spec, "domain")
	for _, u := range s.users {
		if u.name == name && dom != nil && (stringAt(dom, "id") == u.domainID || stringAt(dom, "name") == s.domainName(u.domainID)) {
			return u
		}
	}
	return nil
}

func (s *Server) findProjectLocked(spec *pyValue) *project {
	if id := stringAt(spec, "id"); id != "" {
		return s.projects[id]
	}
	name, dom := stringAt(spec, "name"), dictAt(spec, "domain")
	for _, p := range s.projects {
		if p.name == name && dom != nil && (stringAt(dom, "id") == p.domainID || stringAt(dom, "name") == s.domainName(p.domainID)) {
			return p
		}
	}
	return nil
}

func (s *Server) domainName(id string) string {
	if id == "default" {
		return "Default"
	}
	return "heat"
}

func (s *Server) tokenDocLocked(t *token, base string) *pyValue {
	u := s.users[t.userID]
	const stamp = "2006-01-02T15:04:05.000000Z"
	expires := t.expires
	if t.noExpiry {
		expires = t.issued.AddDate(100, 0, 0)
	}
	doc := pyObj(
		"methods", []*pyValue{pyString("password")},
		"user", pyObj("domain", pyObj("id", u.domainID, "name", s.domainName(u.domainID)),
			"id", u.id, "name", u.name, "password_expires_at", nil),
		"audit_ids", []*pyValue{pyString(t.audit)},
		"expires_at", expires.UTC().Format(stamp),
		"issued_at", t.issued.UTC().Format(stamp),
	)
	if p := s.projects[t.projectID]; p != nil {
		roles := make([]*pyValue, len(t.roles))
		for i, name := range t.roles {
			roles[i] = pyObj("id", roleID(name), "name", name)
		}
		doc.set("project", pyObj("domain", pyObj("id", p.domainID, "name", s.domainName(p.domainID)), "id", p.id, "name", p.name))
		doc.set("is_domain", toPy(false))
		doc.set("roles", toPy(roles))
		doc.set("catalog", toPy([]*pyValue{
			catalogEntry("orchestration", "heat", base+"/v1/"+p.id),
			catalogEntry("identity", "keystone", base+"/v3"),
		}))
	}
	return pyObj("token", doc)
}

func catalogEntry(typ, name, url string) *pyValue {
	eps := []*pyValue{}
	for _, iface := range []string{"public", "internal"} {
		eps = append(eps, pyObj("id", roleID(typ+iface), "interface", iface,
			"region", "RegionOne", "region_id", "RegionOne", "url", url))
	}
	return pyObj("endpoints", eps, "id", roleID(typ), "type", typ, "name", name)
}

// roleID gives stable, keystone-shaped ids for fixed names.
func roleID(name string) string {
	const hexdigits = "0123456789abcdef"
	b := make([]byte, 32)
	h := uint32(2166136261)
	for i := range b {
		h = (h ^ uint32(name[i%len(name)])) * 16777619
		b[i] = hexdigits[h>>28]
	}
	return string(b)
}

// dictAt walks nested dict keys; nil when any step is missing or not a dict.
func dictAt(v *pyValue, keys ...string) *pyValue {
	for _, k := range keys {
		if v == nil || v.kind != pyDict {
			return nil
		}
		v = v.get(k)
	}
	if v == nil || v.kind != pyDict {
		return nil
	}
	return v
}

func stringAt(v *pyValue, key string) string {
	if v == nil || v.kind != pyDict {
		return ""
	}
	if e := v.get(key); e != nil && e.kind == pyStr {
		return e.s
	}
	return ""
}

func listHasString(v *pyValue, want string) bool {
	if v == nil || v.kind != pyList {
		return false
	}
	return slices.ContainsFunc(v.list, func(e *pyValue) bool { return e.kind == pyStr && e.s == want })
}
