package heattest

import (
	"net/http"
	"strconv"
	"strings"
)

// webobClientError is webob's HTTPClientError explanation, inherited by
// HTTPBadRequest and HTTPMethodNotAllowed; it really contains \r\n (§4a).
const webobClientError = "The server could not comply with the request since\r\n" +
	"it is either malformed or otherwise incorrect.\r\n"

// webobStatus holds the title/explanation webob gives each status; Heat's
// FaultWrapper copies both into the fault body (heat/api/middleware/fault.py).
var webobStatus = map[int][2]string{
	400: {"Bad Request", webobClientError},
	401: {"Unauthorized", "This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required."},
	403: {"Forbidden", "Access was denied to this resource."},
	404: {"Not Found", "The resource could not be found."},
	405: {"Method Not Allowed", webobClientError},
	409: {"Conflict", "There was a conflict when trying to complete your request."},
	500: {"Internal Server Error", "The server has either erred or is incapable of performing\r\nthe requested operation.\r\n"},
	502: {"Bad Gateway", "Bad gateway."},
	503: {"Service Unavailable", "The server is currently unavailable. Please try again at a later time."},
	504: {"Gateway Timeout", "The gateway has timed out."},
}

// fault is an error Heat's FaultWrapper renders as JSON: typ is the
// exception class name and msg its message (spec §4a "Error body format").
type fault struct {
	code int
	typ  string
	msg  string
}

func newFault(code int, typ, msg string) *fault { return &fault{code, typ, msg} }

func statusTitle(code int) (title, explanation string) {
	if t, ok := webobStatus[code]; ok {
		return t[0], t[1]
	}
	title = http.StatusText(code)
	if title == "" {
		title = "Unknown"
	}
	return title, title + "."
}

// webobType is the class name of the webob exception for code, e.g.
// HTTPServiceUnavailable, used when a bare webob error reaches FaultWrapper.
func webobType(code int) string {
	title, _ := statusTitle(code)
	return "HTTP" + strings.NewReplacer(" ", "", "-", "").Replace(title)
}

// writeFault answers with {"code","title","explanation","error":{"type","message","traceback":null}}.
func writeFault(w http.ResponseWriter, f *fault) {
	title, explanation := statusTitle(f.code)
	writePyJSON(w, f.code, pyObj(
		"code", f.code,
		"title", title,
		"explanation", explanation,
		"error", pyObj("type", f.typ, "message", f.msg, "traceback", nil),
	))
}

// writeWebobFault is a webob HTTPException that FaultWrapper converts: the
// message is str(exc), i.e. the detail or else the explanation.
func writeWebobFault(w http.ResponseWriter, code int, detail string) {
	if detail == "" {
		_, detail = statusTitle(code)
	}
	writeFault(w, newFault(code, webobType(code), detail))
}

// keystoneUnauthorized is keystonemiddleware's rejection (§4a check 1) and
// keystone's own 401; both point the client at the identity endpoint.
func writeKeystoneUnauthorized(w http.ResponseWriter, identityURI string) {
	w.Header().Set("WWW-Authenticate", `Keystone uri="`+identityURI+`"`)
	writeKeystoneError(w, http.StatusUnauthorized, "The request you have made requires authentication.")
}

func writeKeystoneError(w http.ResponseWriter, code int, message string) {
	title, _ := statusTitle(code)
	writePyJSON(w, code, pyObj("error", pyObj("code", code, "title", title, "message", message)))
}

// writePlainNotFound is the bare webob 404 the router returns for a path
// that matches no route (§4a check 2): not a Heat fault, not JSON.
func writePlainNotFound(w http.ResponseWriter) {
	body := "404 Not Found\n\nThe resource could not be found.\n\n   "
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(body))
}

func writePyJSON(w http.ResponseWriter, code int, v *pyValue) {
	writeBody(w, code, "application/json", pyDumps(v))
}

func writeBody(w http.ResponseWriter, code int, contentType, body string) {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}
