package magnumtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// apiRange is the microversion range a Newton+ release serves.
func (c *Cloud) apiRange() (minor, maxMinor int) {
	if c.opts.Release == Newton {
		return 1, 3
	}
	return 1, 11
}

// serveMagnum is keystonemiddleware, then the version hook, then the
// certificate controller.
func (c *Cloud) serveMagnum(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	tok := c.validTokenLocked(r.Header.Get("X-Auth-Token"))
	c.mu.Unlock()
	if tok == nil {
		writeUnauthorized(w, c.AuthURL())
		return
	}
	if !c.negotiate(w, r) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/certificates")
	switch {
	case !ok:
		writeMagnumError(w, http.StatusNotFound, "The resource could not be found.")
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/") && len(rest) > 1:
		c.getCA(w, tok, strings.TrimPrefix(rest, "/"))
	case r.Method == http.MethodPost && (rest == "" || rest == "/"):
		c.sign(w, r, tok)
	default:
		writeMagnumError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
	}
}

// negotiate is the Newton+ version check of controllers/v1 _route: min
// and max are always announced; a requested version outside them, or for
// another service, is a 406. Mitaka announces its own header family.
func (c *Cloud) negotiate(w http.ResponseWriter, r *http.Request) bool {
	if c.opts.Release == Mitaka {
		w.Header().Set("X-OpenStack-Magnum-API-Minimum-Version", "1.1")
		w.Header().Set("X-OpenStack-Magnum-API-Maximum-Version", "1.1")
		w.Header().Set("X-OpenStack-Magnum-API-Version", "1.1")
		return true
	}
	lo, hi := c.apiRange()
	w.Header().Set("OpenStack-API-Minimum-Version", fmt.Sprintf("container-infra 1.%d", lo))
	w.Header().Set("OpenStack-API-Maximum-Version", fmt.Sprintf("container-infra 1.%d", hi))
	minor := lo
	if h := r.Header.Get("OpenStack-API-Version"); h != "" {
		svc, ver, _ := strings.Cut(strings.TrimSpace(h), " ")
		if svc != "container-infra" {
			writeMagnumError(w, http.StatusNotAcceptable, "Invalid service type for OpenStack-API-Version header")
			return false
		}
		if strings.EqualFold(ver, "latest") {
			minor = hi
		} else {
			major, m, _ := strings.Cut(ver, ".")
			n, err := strconv.Atoi(m)
			if major != "1" || err != nil || n < lo || n > hi {
				writeMagnumError(w, http.StatusNotAcceptable, fmt.Sprintf(
					"Version %s was requested but the minor version is not supported by this service. The supported version range is: [1.%d, 1.%d].", ver, lo, hi))
				return false
			}
			minor = n
		}
	}
	w.Header().Set("OpenStack-API-Version", fmt.Sprintf("container-infra 1.%d", minor))
	return true
}

func (c *Cloud) noun() string {
	if c.opts.Release == Mitaka {
		return "Bay"
	}
	return "Cluster"
}

// findLocked resolves a uuid or a name, as api_utils.get_resource does.
func (c *Cloud) findLocked(ident string) *Cluster {
	if cl := c.clusters[ident]; cl != nil {
		return cl
	}
	for _, cl := range c.clusters {
		if cl.Name == ident {
			return cl
		}
	}
	return nil
}

// allowedLocked is policy admin_or_user (+ cluster_user from Newton on).
func (c *Cloud) allowedLocked(tok *token, cl *Cluster) bool {
	u := c.users[tok.user]
	return (u != nil && u.admin) || tok.user == cl.Owner ||
		(c.opts.Release != Mitaka && cl.Trustee != "" && tok.user == cl.Trustee)
}

func (c *Cloud) getCA(w http.ResponseWriter, tok *token, ident string) {
	c.mu.Lock()
	cl := c.findLocked(ident)
	allowed := cl != nil && c.allowedLocked(tok, cl)
	c.mu.Unlock()
	switch {
	case cl == nil:
		writeMagnumError(w, http.StatusNotFound, fmt.Sprintf("%s %s could not be found.", c.noun(), ident))
	case !allowed:
		writeMagnumError(w, http.StatusForbidden, "Policy doesn't allow certificate:get to be performed.")
	default:
		writeJSON(w, http.StatusOK, c.certDoc(cl, "", cl.CA.PEM()))
	}
}

// certDoc is the Certificate resource: the cluster field by release, the
// PEM, the self/bookmark links.
func (c *Cloud) certDoc(cl *Cluster, csr, pemText string) map[string]any {
	doc := map[string]any{"pem": pemText, "links": []any{
		map[string]any{"rel": "self", "href": c.MagnumURL() + "/certificates/" + cl.UUID},
		map[string]any{"rel": "bookmark", "href": c.Magnum.URL + "/certificates/" + cl.UUID},
	}}
	switch c.opts.Release {
	case Mitaka:
		doc["bay_uuid"] = cl.UUID
	case Newton:
		doc["bay_uuid"], doc["cluster_uuid"] = cl.UUID, cl.UUID
	default:
		doc["cluster_uuid"] = cl.UUID
	}
	if csr != "" {
		doc["csr"] = csr
	}
	return doc
}

// sign is POST /v1/certificates: wsme validates the body against the
// release's Certificate type, then policy, then the conductor signs.
func (c *Cloud) sign(w http.ResponseWriter, r *http.Request, tok *token) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeMagnumError(w, http.StatusBadRequest, "Invalid data: "+err.Error())
		return
	}
	known := map[string]bool{"csr": true, "pem": true, "bay_uuid": c.opts.Release != Current, "cluster_uuid": c.opts.Release != Mitaka}
	for k := range body {
		if !known[k] {
			writeMagnumError(w, http.StatusBadRequest, "Unknown attribute for argument certificate: "+k)
			return
		}
	}
	var ident, csr string
	for _, k := range []string{"cluster_uuid", "bay_uuid", "csr"} {
		var s string
		if raw, ok := body[k]; ok && json.Unmarshal(raw, &s) != nil {
			writeMagnumError(w, http.StatusBadRequest, fmt.Sprintf("Invalid input for field/attribute %s. Value: %s. Wrong type. Expected '<class 'str'>'", k, raw))
			return
		}
		if k == "csr" {
			csr = s
		} else if ident == "" {
			ident = s
		}
	}
	if ident == "" {
		writeMagnumError(w, http.StatusBadRequest, "Invalid input for field/attribute certificate. Mandatory field missing.")
		return
	}
	c.mu.Lock()
	cl := c.findLocked(ident)
	allowed := cl != nil && c.allowedLocked(tok, cl)
	policy := c.policy
	c.mu.Unlock()
	switch {
	case cl == nil:
		// certificate.py turns ClusterNotFound into a 400 for a POST.
		writeMagnumError(w, http.StatusBadRequest, fmt.Sprintf("%s %s could not be found.", c.noun(), ident))
		return
	case !allowed:
		writeMagnumError(w, http.StatusForbidden, "Policy doesn't allow certificate:create to be performed.")
		return
	case csr == "":
		writeMagnumError(w, http.StatusBadRequest, "Invalid input for field/attribute csr. Value: ''. Value should have a minimum character requirement of 1")
		return
	}
	signed, err := cl.CA.Sign([]byte(csr), policy, c.opts.Now())
	var verr ValidationError
	switch {
	case errors.As(err, &verr):
		writeMagnumError(w, http.StatusBadRequest, "Certificate validation error: "+verr.Error()+".")
	case err != nil:
		writeMagnumError(w, http.StatusBadRequest, "Invalid CSR: "+err.Error())
	default:
		writeJSON(w, http.StatusCreated, c.certDoc(cl, csr, string(signed)))
	}
}
