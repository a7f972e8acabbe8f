package heattest

import (
	"net/http"
	"strings"
)

// heatRoute is a matched /v1/{tenant}/stacks/{name}/{id}/resources/{res}/{action}.
type heatRoute struct {
	tenant, stackName, stackID, resource, action string
}

// parseHeatRoute matches the only two heat-api routes emulated. It works on
// the decoded path, as routes does on WSGI PATH_INFO.
func parseHeatRoute(path string) (heatRoute, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/")
	p := strings.Split(rest, "/")
	if !ok || len(p) != 7 || p[1] != "stacks" || p[4] != "resources" || p[6] != "signal" && p[6] != "metadata" {
		return heatRoute{}, false
	}
	for _, seg := range p {
		if seg == "" {
			return heatRoute{}, false
		}
	}
	return heatRoute{tenant: p[0], stackName: p[2], stackID: p[3], resource: p[5], action: p[6]}, true
}

// serveHeatAPI runs the checks every heat-api route shares, in the order of
// §4a / §7: keystonemiddleware, routing, method.
func (s *Server) serveHeatAPI(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	var tok token
	valid := s.validTokenLocked(r.Header.Get("X-Auth-Token"))
	if valid != nil {
		tok = *valid
	}
	s.mu.Unlock()
	if valid == nil {
		writeKeystoneUnauthorized(w, s.baseURL(r))
		return
	}
	rt, ok := parseHeatRoute(r.URL.Path)
	if !ok {
		writePlainNotFound(w)
		return
	}
	allowed := http.MethodPost
	if rt.action == "metadata" {
		allowed = http.MethodGet
	}
	switch r.Method {
	case allowed:
	case http.MethodOptions:
		w.Header().Set("Allow", allowed)
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		// DefaultMethodController.reject; FaultWrapper drops its Allow header.
		writeWebobFault(w, http.StatusMethodNotAllowed, "")
		return
	}
	if rt.action == "signal" {
		s.serveSignal(w, r, body, rt, &tok)
		return
	}
	s.serveMetadata(w, rt, &tok)
}

// lookupStackLocked is registered_policy_enforce followed by the engine's
// _get_stack (§7 rows 6–8).
func (s *Server) lookupStackLocked(rt heatRoute, tok *token) (*stack, *fault) {
	admin := tok.hasRole(roleAdmin)
	forbidden := newFault(http.StatusForbidden, "HTTPForbidden", "Access was denied to this resource.")
	if rt.tenant != tok.projectID && !admin {
		return nil, forbidden
	}
	// resource:signal and resource:metadata: reader or heat_stack_user in
	// the project (admin implies reader).
	if !tok.hasRole(roleStackUser, roleReader, roleAdmin) {
		return nil, forbidden
	}
	for _, st := range s.stacks {
		if st.id != rt.stackID || st.deleted || st.name != rt.stackName {
			continue
		}
		if admin || tok.projectID == st.owner.id || tok.projectID == st.sup.id {
			return st, nil
		}
	}
	return nil, newFault(http.StatusNotFound, "EntityNotFound", "The Stack ("+rt.stackName+") could not be found.")
}

func resourceNotFound(rt heatRoute) *fault {
	return newFault(http.StatusNotFound, "ResourceNotFound",
		"The Resource ("+rt.resource+") could not be found in Stack "+rt.stackName+".")
}

// serveMetadata is GET .../resources/{res}/metadata. A stack user's token
// is refused by _authorize_stack_user: token auth carries no EC2 access
// key, so even the handle's own token gets 403, as measured on Heat 19 (§9).
func (s *Server) serveMetadata(w http.ResponseWriter, rt heatRoute, tok *token) {
	s.mu.Lock()
	st, f := s.lookupStackLocked(rt, tok)
	var md *pyValue
	switch {
	case f != nil:
	case tok.hasRole(roleStackUser):
		f = newFault(http.StatusForbidden, "Forbidden", "You are not authorized to use this action.")
	case rt.resource == st.handle.name:
		md = &pyValue{kind: pyDict}
		for _, id := range st.handle.ids {
			md.set(id, st.handle.entries[id].clone())
		}
	case rt.resource == st.wc.name:
		md = &pyValue{kind: pyDict}
	default:
		f = resourceNotFound(rt)
	}
	s.mu.Unlock()
	if f != nil {
		writeFault(w, f)
		return
	}
	writePyJSON(w, http.StatusOK, pyObj("metadata", md))
}
