package magnumtest_test

import (
	"crypto/x509/pkix"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

// Mitaka's certificate API (spec §5.1): bay_uuid, no microversions, policy
// admin_or_user, unknown bays 404 on GET and 400 on POST.
func TestCertificateAPIMitaka(t *testing.T) {
	w := newWorld(t, magnumtest.Options{Release: magnumtest.Mitaka})
	owner := w.UserToken(w.owner)
	csr, _ := csrPEM(t, pkix.Name{CommonName: "kubernetes.invalid"})

	a := w.get(t, w.cluster.UUID, owner, nil)
	expect(t, "GET CA", a, http.StatusOK)
	if got := a.fields(); !slices.Equal(got, []string{"bay_uuid", "links", "pem"}) {
		t.Errorf("GET fields %v, want bay_uuid, links, pem", got)
	}
	if a.doc["bay_uuid"] != w.cluster.UUID || !parseCert(t, a.doc["pem"].(string)).Equal(w.cluster.CA.Cert) {
		t.Errorf("GET answer %s", a.raw)
	}
	links := a.doc["links"].([]any)
	if len(links) != 2 || links[0].(map[string]any)["rel"] != "self" ||
		links[0].(map[string]any)["href"] != w.MagnumURL()+"/certificates/"+w.cluster.UUID {
		t.Errorf("links %v", links)
	}
	if a.header.Get("OpenStack-API-Maximum-Version") != "" || a.header.Get("X-OpenStack-Magnum-API-Version") != "1.1" {
		t.Errorf("Mitaka version headers: %v", a.header)
	}
	// api_utils.get_resource resolves a name as well as a uuid.
	expect(t, "GET by name", w.get(t, w.cluster.Name, owner, nil), http.StatusOK)
	// Mitaka has no microversions: the Newton header changes nothing.
	expect(t, "GET with a Newton header", w.get(t, w.cluster.UUID, owner, map[string]string{"OpenStack-API-Version": "container-infra latest"}), http.StatusOK)

	a = w.post(t, owner, nil, map[string]any{"bay_uuid": w.cluster.UUID, "csr": csr})
	expect(t, "POST CSR", a, http.StatusCreated)
	if got := a.fields(); !slices.Equal(got, []string{"bay_uuid", "csr", "links", "pem"}) {
		t.Errorf("POST fields %v, want bay_uuid, csr, links, pem", got)
	}
	if a.doc["csr"] != csr {
		t.Error("POST answer does not echo the CSR")
	}
	if err := parseCert(t, a.doc["pem"].(string)).CheckSignatureFrom(w.cluster.CA.Cert); err != nil {
		t.Errorf("signed certificate: %v", err)
	}

	for _, tc := range []struct {
		name   string
		a      answer
		status int
		detail string
	}{
		{"GET unknown bay", w.get(t, "c0ffee00-0000-4000-8000-000000000000", owner, nil), http.StatusNotFound,
			"Bay c0ffee00-0000-4000-8000-000000000000 could not be found."},
		{"GET another user's bay", w.get(t, w.cluster.UUID, w.UserToken(w.stranger), nil), http.StatusForbidden,
			"Policy doesn't allow certificate:get to be performed."},
		// cluster_user came with Newton: Mitaka's policy knows no trustee.
		{"GET as the trustee", w.get(t, w.cluster.UUID, w.UserToken(w.trustee), nil), http.StatusForbidden,
			"Policy doesn't allow certificate:get to be performed."},
		{"POST another user's bay", w.post(t, w.UserToken(w.stranger), nil, map[string]any{"bay_uuid": w.cluster.UUID, "csr": csr}),
			http.StatusForbidden, "Policy doesn't allow certificate:create to be performed."},
		// certificate.py turns BayNotFound into a 400 for a POST.
		{"POST unknown bay", w.post(t, owner, nil, map[string]any{"bay_uuid": "nope", "csr": csr}), http.StatusBadRequest,
			"Bay nope could not be found."},
		{"POST cluster_uuid", w.post(t, owner, nil, map[string]any{"cluster_uuid": w.cluster.UUID, "csr": csr}), http.StatusBadRequest,
			"Unknown attribute for argument certificate: cluster_uuid"},
		{"POST without bay", w.post(t, owner, nil, map[string]any{"csr": csr}), http.StatusBadRequest, "Mandatory field missing."},
		{"POST without CSR", w.post(t, owner, nil, map[string]any{"bay_uuid": w.cluster.UUID}), http.StatusBadRequest, "minimum character requirement"},
		{"POST non-string CSR", w.post(t, owner, nil, map[string]any{"bay_uuid": w.cluster.UUID, "csr": 42}), http.StatusBadRequest, "Wrong type"},
		{"POST not JSON", w.post(t, owner, nil, "csr="), http.StatusBadRequest, "Invalid data"},
		{"POST garbage CSR", w.post(t, owner, nil, map[string]any{"bay_uuid": w.cluster.UUID, "csr": "hello"}), http.StatusBadRequest, "CSR"},
		{"DELETE", call(t, http.MethodDelete, w.MagnumURL()+"/certificates/"+w.cluster.UUID, owner, nil, nil), http.StatusMethodNotAllowed, "not allowed"},
		{"unknown path", call(t, http.MethodGet, w.MagnumURL()+"/bays", owner, nil, nil), http.StatusNotFound, "could not be found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, tc.name, tc.a, tc.status)
			if !strings.Contains(tc.a.detail(), tc.detail) {
				t.Errorf("detail %q, want %q", tc.a.detail(), tc.detail)
			}
			// ParsableErrorMiddleware's shape.
			e := tc.a.doc["errors"].([]any)[0].(map[string]any)
			if e["status"] != float64(tc.status) || e["code"] != "client" || e["title"] == "" {
				t.Errorf("error body %s", tc.a.raw)
			}
		})
	}

	// The admin may do anything.
	expect(t, "admin GET", w.get(t, w.cluster.UUID, w.UserToken(w.admin), nil), http.StatusOK)
	expect(t, "admin POST", w.post(t, w.UserToken(w.admin), nil, map[string]any{"bay_uuid": w.cluster.UUID, "csr": csr}), http.StatusCreated)
}

// Newton and later negotiate OpenStack-API-Version: container-infra and
// speak cluster_uuid; Newton still takes bay_uuid, later releases do not.
func TestCertificateAPIVersions(t *testing.T) {
	for _, tc := range []struct {
		release    magnumtest.Release
		max        string
		getFields  []string
		takesBay   bool
		notFoundGo string
	}{
		{magnumtest.Newton, "container-infra 1.3", []string{"bay_uuid", "cluster_uuid", "links", "pem"}, true, "Cluster x could not be found."},
		{magnumtest.Current, "container-infra 1.11", []string{"cluster_uuid", "links", "pem"}, false, "Cluster x could not be found."},
	} {
		t.Run(tc.max, func(t *testing.T) {
			w := newWorld(t, magnumtest.Options{Release: tc.release})
			owner := w.UserToken(w.owner)
			csr, _ := csrPEM(t, pkix.Name{CommonName: "kubernetes.invalid"})

			a := w.get(t, w.cluster.UUID, owner, nil)
			expect(t, "GET without a version", a, http.StatusOK)
			if !slices.Equal(a.fields(), tc.getFields) {
				t.Errorf("GET fields %v, want %v", a.fields(), tc.getFields)
			}
			if a.header.Get("OpenStack-API-Minimum-Version") != "container-infra 1.1" || a.header.Get("OpenStack-API-Maximum-Version") != tc.max ||
				a.header.Get("OpenStack-API-Version") != "container-infra 1.1" {
				t.Errorf("version headers without a request: %v", a.header)
			}
			latest := map[string]string{"OpenStack-API-Version": "container-infra latest"}
			a = w.get(t, w.cluster.UUID, owner, latest)
			expect(t, "GET latest", a, http.StatusOK)
			if a.header.Get("OpenStack-API-Version") != tc.max {
				t.Errorf("latest answered as %q, want %q", a.header.Get("OpenStack-API-Version"), tc.max)
			}
			for _, bad := range []string{"container-infra 1.99", "container-infra 2.0", "container-infra x", "compute 2.1"} {
				a := w.get(t, w.cluster.UUID, owner, map[string]string{"OpenStack-API-Version": bad})
				expect(t, bad, a, http.StatusNotAcceptable)
			}

			a = w.post(t, owner, latest, map[string]any{"cluster_uuid": w.cluster.UUID, "csr": csr})
			expect(t, "POST cluster_uuid", a, http.StatusCreated)
			if _, ok := a.doc["cluster_uuid"]; !ok || a.doc["csr"] != csr {
				t.Errorf("POST answer %s", a.raw)
			}
			a = w.post(t, owner, latest, map[string]any{"bay_uuid": w.cluster.UUID, "csr": csr})
			if tc.takesBay {
				expect(t, "POST bay_uuid", a, http.StatusCreated)
			} else {
				expect(t, "POST bay_uuid", a, http.StatusBadRequest)
				if !strings.Contains(a.detail(), "Unknown attribute for argument certificate: bay_uuid") {
					t.Errorf("detail %q", a.detail())
				}
			}
			a = w.get(t, "x", owner, latest)
			expect(t, "GET unknown", a, http.StatusNotFound)
			if a.detail() != tc.notFoundGo {
				t.Errorf("detail %q", a.detail())
			}
			// From Newton on the cluster's trustee (cluster_user) may ask.
			expect(t, "GET as trustee", w.get(t, w.cluster.UUID, w.UserToken(w.trustee), latest), http.StatusOK)
			expect(t, "GET as stranger", w.get(t, w.cluster.UUID, w.UserToken(w.stranger), latest), http.StatusForbidden)
		})
	}
}

// Every call is recorded, with the version header, the body fields and
// whose token it was; faults replace or delay answers.
func TestRecordingAndFaults(t *testing.T) {
	w := newWorld(t, magnumtest.Options{})
	owner := w.UserToken(w.owner)
	w.Inject(magnumtest.Fault{Service: "magnum", Method: http.MethodGet, Times: 2, Status: http.StatusServiceUnavailable, Body: "<html>busy</html>"})
	w.Inject(magnumtest.Fault{Service: "magnum", Method: http.MethodPost, Status: http.StatusOK, Body: `{"bay_uuid":"x"}`, ContentType: "application/json"})
	for i, want := range []int{503, 503, 200} {
		a := w.get(t, w.cluster.UUID, owner, nil)
		if a.status != want {
			t.Fatalf("GET %d: %d, want %d", i, a.status, want)
		}
		if want == 503 && (a.raw != "<html>busy</html>" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html")) {
			t.Errorf("fault answer %v %q", a.header, a.raw)
		}
	}
	a := w.post(t, owner, map[string]string{"OpenStack-API-Version": "container-infra latest"}, map[string]any{"bay_uuid": w.cluster.UUID, "csr": "x"})
	if a.status != http.StatusOK || a.doc["pem"] != nil {
		t.Fatalf("POST fault: %d %s", a.status, a.raw)
	}
	reqs := w.Requests()
	if len(reqs) != 4 || w.Count("magnum", http.MethodGet) != 3 || w.Count("magnum", http.MethodPost) != 1 || w.Count("keystone", http.MethodPost) != 0 {
		t.Fatalf("requests %+v", reqs)
	}
	post := reqs[3]
	if post.Path != "/v1/certificates" || post.Status != 200 || post.APIVersion != "container-infra latest" ||
		!slices.Equal(post.Fields, []string{"bay_uuid", "csr"}) || post.User != w.owner || post.Trust != "" {
		t.Errorf("recorded POST %+v", post)
	}
	if strings.Contains(post.Body, owner) {
		t.Error("a token was recorded")
	}
}
