package helper

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/httpclient"
)

// Defaults of KubeOptions: the apiserver's insecure local port, and how
// long to wait for it (kubelet, hence these units, starts only after
// cloud-init, and the apiserver may need etcd first).
const (
	DefaultAPIServer   = "http://127.0.0.1:8080"
	DefaultKubeTimeout = 10 * time.Minute
	kubeSystem         = "kube-system"
)

// KubeOptions configure the apiserver helpers.
type KubeOptions struct {
	APIServer string        // default http://127.0.0.1:8080
	Timeout   time.Duration // wait for /healthz, default 10m
	HTTP      httpclient.Options
	Files     *hostfs.FS
	Log       *slog.Logger
}

// kube is a prepared KubeOptions: a health client that makes one attempt
// per poll (the poll loop is the retry), and a create client that retries
// 5xx and connection errors through httpclient (bounded by its RetryMax).
type kube struct {
	api    string
	o      KubeOptions
	health *retryablehttp.Client
	create *retryablehttp.Client
	log    *slog.Logger
}

func newKube(o KubeOptions, helper string) (*kube, error) {
	if o.APIServer == "" {
		o.APIServer = DefaultAPIServer
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultKubeTimeout
	}
	if o.Files == nil {
		o.Files = hostfs.New("/")
	}
	if _, err := httpURL(o.APIServer); err != nil {
		return nil, fmt.Errorf("apiserver URL: %w (--api)", err)
	}
	k := &kube{api: strings.TrimSuffix(o.APIServer, "/"), o: o}
	k.log = discardIfNil(o.Log).With("helper", helper, "apiserver", k.api)
	var err error
	if k.health, err = singleShotClient(o.HTTP, 10*time.Second); err != nil {
		return nil, err
	}
	if k.create, err = httpclient.New(o.HTTP); err != nil {
		return nil, err
	}
	return k, nil
}

// waitHealthy polls <api>/healthz until it answers 2xx "ok" or Timeout
// passes (Mitaka: `curl -sf` every 5 s, forever).
func (k *kube) waitHealthy(ctx context.Context) error {
	u := k.api + "/healthz"
	waitCtx, cancel := context.WithTimeout(ctx, k.o.Timeout)
	defer cancel()
	start := time.Now()
	err := poll(waitCtx, k.log, "apiserver is not healthy yet; retrying", func(ctx context.Context) error {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return permanent(err)
		}
		resp, err := k.health.Do(req)
		if err != nil {
			return transportError(err)
		}
		defer resp.Body.Close()
		body := readBody(resp)
		if ok2xx(resp.StatusCode) && strings.TrimSpace(string(body)) == "ok" {
			return nil
		}
		// Every answer but "ok" is "not yet": an apiserver that is
		// starting reports failing checks with 500 and, behind a proxy,
		// even 4xx can be transient while it comes up.
		return &httpclient.StatusError{Method: http.MethodGet, URL: u, Code: resp.StatusCode, Body: snippet(body)}
	})
	var we *waitError
	switch {
	case err == nil:
		k.log.Info("apiserver is healthy", "elapsed", time.Since(start).Round(time.Millisecond).String())
		return nil
	case errors.As(err, &we) && ctx.Err() != nil:
		return fmt.Errorf("interrupted after %s waiting for the apiserver at %s: %v", time.Since(start).Round(time.Second), k.api, we.cause)
	case errors.As(err, &we):
		return fmt.Errorf("apiserver at %s was not healthy (GET /healthz == \"ok\") within %s: %v; check `systemctl status kube-apiserver etcd` and the apiserver's log",
			k.api, k.o.Timeout, we.cause)
	default:
		return fmt.Errorf("apiserver at %s: %w%s", k.api, err, tlsHint(err))
	}
}

// tlsHint says what to do when the apiserver's certificate is not trusted:
// waiting cannot fix that, so poll gave up at once.
func tlsHint(err error) string {
	var cv *tls.CertificateVerificationError
	if !errors.As(err, &cv) {
		return ""
	}
	return "; its certificate is not trusted: set ca_bundle in the agent config to the cluster CA (/srv/kubernetes/ca.crt), or use the local insecure port (--api http://127.0.0.1:8080)"
}

// manifest is one Kubernetes object ready to POST.
type manifest struct {
	JSON                  []byte
	Kind, Name, Namespace string
	Source                string // file it came from, for messages
}

func (m manifest) String() string {
	if m.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", m.Kind, m.Namespace, m.Name)
	}
	return fmt.Sprintf("%s %s", m.Kind, m.Name)
}

// status is the part of a Kubernetes Status answer we report.
type status struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
}

// createObject POSTs m to path: 200/201/202 is created, 409 is "already
// exists" and also success (the second master, or a later boot; Mitaka's
// `kubectl create` failed there and left the unit failed, §9.11), any
// other answer an error quoting the apiserver's Status.
func (k *kube) createObject(ctx context.Context, path string, m manifest) error {
	u := k.api + path
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, u, m.JSON)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := k.create.Do(req)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted while creating %s at %s: %w", m, k.api, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("create %s at %s: %w; the apiserver was healthy a moment ago, check `systemctl status kube-apiserver`", m, k.api, transportError(err))
	}
	defer resp.Body.Close()
	body := readBody(resp)
	var st status
	if json.Unmarshal(body, &st) != nil || st.Kind != "Status" {
		st = status{Message: snippet(body)}
	}
	switch code := resp.StatusCode; {
	case ok2xx(code):
		k.log.Info("created", "object", m.String())
		return nil
	case code == http.StatusConflict:
		k.log.Info("already exists; nothing to do", "object", m.String(), "apiserver_says", st.Message)
		return nil
	default:
		msg := fmt.Sprintf("create %s (from %s): POST %s: HTTP %d", m, m.Source, u, code)
		if st.Reason != "" {
			msg += " " + st.Reason
		}
		if st.Message != "" {
			msg += ": " + st.Message
		}
		return errors.New(msg + createHint(code, st, m))
	}
}

// createHint says what to do about the usual refusals.
func createHint(code int, st status, m manifest) string {
	switch {
	case code == http.StatusNotFound && m.Namespace != "" && strings.Contains(st.Message, "namespaces"):
		return fmt.Sprintf("; namespace %s does not exist yet: kube-system-namespace.service creates it, check `systemctl status kube-system-namespace`", m.Namespace)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return "; the helper talks to the apiserver's insecure local port without credentials: check --api"
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		return fmt.Sprintf("; the apiserver rejected the manifest, fix %s", m.Source)
	case code >= 500:
		return "; the apiserver kept failing after retries, see its log"
	}
	return ""
}

// KubeSystemNamespace waits for the apiserver and creates the namespace
// kube-system (spec M14). "Already exists" is success.
//
// The object is built here rather than read from
// /srv/kubernetes/kube-system-namespace.json (which the step still writes
// for operators): it is fixed, and a hand-edited file cannot break it.
func KubeSystemNamespace(ctx context.Context, o KubeOptions) error {
	k, err := newKube(o, "kube-system-namespace")
	if err != nil {
		return fmt.Errorf("kube-system-namespace: %w", err)
	}
	ns := manifest{
		JSON:   []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kube-system"}}`),
		Kind:   "Namespace",
		Name:   kubeSystem,
		Source: "built-in",
	}
	if err := k.waitHealthy(ctx); err != nil {
		return fmt.Errorf("kube-system-namespace: %w", err)
	}
	if err := k.createObject(ctx, "/api/v1/namespaces", ns); err != nil {
		return fmt.Errorf("kube-system-namespace: %w", err)
	}
	return nil
}

// KubeUIOptions configure KubeUI.
type KubeUIOptions struct {
	KubeOptions
	RCFile  string // default /srv/kubernetes/manifests/kube-ui-rc.yaml
	SvcFile string // default /srv/kubernetes/manifests/kube-ui-svc.yaml
}

// KubeUI waits for the apiserver and creates, in kube-system, the kube-ui
// ReplicationController and Service from their YAML manifests (spec M17;
// Mitaka ran `kubectl create -f … --namespace=kube-system`). "Already
// exists" is success. The manifests are read and checked before waiting,
// so a broken file fails at once instead of after the apiserver is up.
func KubeUI(ctx context.Context, o KubeUIOptions) error {
	if o.RCFile == "" {
		o.RCFile = "/srv/kubernetes/manifests/kube-ui-rc.yaml"
	}
	if o.SvcFile == "" {
		o.SvcFile = "/srv/kubernetes/manifests/kube-ui-svc.yaml"
	}
	k, err := newKube(o.KubeOptions, "kube-ui")
	if err != nil {
		return fmt.Errorf("kube-ui: %w", err)
	}
	objects := []struct {
		file, kind, resource string
	}{
		{o.RCFile, "ReplicationController", "replicationcontrollers"},
		{o.SvcFile, "Service", "services"},
	}
	manifests := make([]manifest, len(objects))
	for i, obj := range objects {
		if manifests[i], err = loadManifest(k.o.Files, obj.file, obj.kind, kubeSystem); err != nil {
			return fmt.Errorf("kube-ui: %w", err)
		}
	}
	if err := k.waitHealthy(ctx); err != nil {
		return fmt.Errorf("kube-ui: %w", err)
	}
	for i, obj := range objects {
		if err := k.createObject(ctx, "/api/v1/namespaces/"+kubeSystem+"/"+obj.resource, manifests[i]); err != nil {
			return fmt.Errorf("kube-ui: %w", err)
		}
	}
	return nil
}
