package helper

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// fakeAPI answers the few apiserver calls the helpers make the way a v1
// apiserver does (kube-apiserver cannot run here): /healthz is text "ok"
// (or 500 with the failed checks while starting); creates need
// Content-Type application/json, decode the body into the resource's type
// (a type error is 400 BadRequest, unknown fields are dropped as the
// apiserver's default field validation does) and answer 201 with the
// object, or a v1 Status: 409 AlreadyExists, 404 NotFound for a missing
// namespace (NamespaceLifecycle admission), 400 BadRequest for a namespace
// or kind mismatch, 422 Invalid without a name, 415 for another media type.
type fakeAPI struct {
	mu        sync.Mutex
	unhealthy int               // healthz fails this many times first
	fail5xx   int               // creates answer 500 this many times first
	forbid    bool              // creates answer 403, as with authorization on
	healthz   int               // healthz calls seen
	objects   map[string][]byte // "namespaces/NAME" or "NS/RESOURCE/NAME" -> body posted
	posts     []string          // "PATH CODE", in order
}

// fakeKinds are the namespaced resources the fake serves, with their kind
// and a constructor of their Go type.
var fakeKinds = map[string]struct {
	kind string
	obj  func() any
}{
	"replicationcontrollers": {"ReplicationController", func() any { return new(corev1.ReplicationController) }},
	"services":               {"Service", func() any { return new(corev1.Service) }},
}

// newFakeAPI serves a fake apiserver over plain HTTP where the given
// namespaces already exist.
func newFakeAPI(t *testing.T, namespaces ...string) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{objects: map[string][]byte{}}
	for _, ns := range namespaces {
		f.objects["namespaces/"+ns] = []byte(`{}`)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/healthz" && r.Method == http.MethodGet {
		f.healthz++
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if f.healthz <= f.unhealthy {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "[+]ping ok\n[-]etcd failed: reason withheld\nhealthz check failed\n")
			return
		}
		fmt.Fprint(w, "ok")
		return
	}
	code := f.create(w, r)
	f.posts = append(f.posts, fmt.Sprintf("%s %d", r.URL.Path, code))
}

func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request) int {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/"), "/")
	var ns, resource string
	switch {
	case !strings.HasPrefix(r.URL.Path, "/api/v1/"):
		return writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
	case len(parts) == 1 && parts[0] == "namespaces":
		resource = "namespaces"
	case len(parts) == 3 && parts[0] == "namespaces" && fakeKinds[parts[2]].kind != "":
		ns, resource = parts[1], parts[2]
	default:
		return writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
	}
	if r.Method != http.MethodPost {
		return writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource", nil)
	}
	if f.forbid {
		return writeStatus(w, http.StatusForbidden, "Forbidden", fmt.Sprintf(`%s is forbidden: User "system:anonymous" cannot create resource %q in API group "" at the cluster scope`, resource, resource), nil)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return writeStatus(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got %q)", r.Header.Get("Content-Type")), nil)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error(), nil)
	}
	var obj struct {
		APIVersion, Kind string
		Metadata         struct{ Name, Namespace string }
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		return writeStatus(w, http.StatusBadRequest, "BadRequest", "the object provided is unrecognized: "+err.Error(), nil)
	}
	if f.fail5xx > 0 {
		f.fail5xx--
		return writeStatus(w, http.StatusInternalServerError, "InternalError", "Internal error occurred: etcdserver: request timed out", nil)
	}
	wantKind, typed := "Namespace", any(new(corev1.Namespace))
	if ns != "" {
		wantKind, typed = fakeKinds[resource].kind, fakeKinds[resource].obj()
	}
	typeErr := json.Unmarshal(body, typed)
	switch {
	case obj.APIVersion != "v1" || obj.Kind != wantKind:
		return writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("the API version in the data (%s) does not match the expected API version (v1) or kind %q is not %s", obj.APIVersion, obj.Kind, wantKind), nil)
	case typeErr != nil:
		return writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("%s in version \"v1\" cannot be handled as a %s: %v", wantKind, wantKind, typeErr), nil)
	case obj.Metadata.Name == "":
		return writeStatus(w, http.StatusUnprocessableEntity, "Invalid", resource+` "" is invalid: metadata.name: Required value: name or generateName is required`, nil)
	case ns != "" && obj.Metadata.Namespace != "" && obj.Metadata.Namespace != ns:
		return writeStatus(w, http.StatusBadRequest, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request", nil)
	case ns != "" && f.objects["namespaces/"+ns] == nil:
		return writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("namespaces %q not found", ns), map[string]any{"name": ns, "kind": "namespaces"})
	}
	key := resource + "/" + obj.Metadata.Name
	if ns != "" {
		key = ns + "/" + key
	}
	if f.objects[key] != nil {
		return writeStatus(w, http.StatusConflict, "AlreadyExists", fmt.Sprintf("%s %q already exists", resource, obj.Metadata.Name),
			map[string]any{"name": obj.Metadata.Name, "kind": resource})
	}
	f.objects[key] = body
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body) // the real one adds uid, resourceVersion, status
	return http.StatusCreated
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string, details map[string]any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "details": details, "code": code,
	})
	return code
}

func (f *fakeAPI) snapshot() (healthz int, posts []string, objects map[string][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	objects = map[string][]byte{}
	for k, v := range f.objects {
		objects[k] = v
	}
	return f.healthz, append([]string(nil), f.posts...), objects
}
