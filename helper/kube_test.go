package helper

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kubeOpts points a helper at api with quick create retries and a wait of
// at most timeout.
func kubeOpts(t *testing.T, api string, timeout time.Duration) (KubeOptions, *logSink) {
	log, sink := testLogger(t)
	return KubeOptions{APIServer: api, Timeout: timeout, HTTP: fastHTTP, Log: log}, sink
}

// nsPost is what creating the namespace leaves in fakeAPI.posts.
func nsPost(code string) string { return "/api/v1/namespaces " + code }

// The apiserver answers 500 while etcd is not up yet: the helper keeps
// asking, and creates the namespace once /healthz says "ok".
func TestKubeSystemNamespaceWaitsForHealthz(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	f.unhealthy = 2
	o, sink := kubeOpts(t, srv.URL, 30*time.Second)
	if err := KubeSystemNamespace(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	healthz, posts, objects := f.snapshot()
	if healthz != 3 {
		t.Errorf("healthz asked %d times, want 3 (two failures, then ok)", healthz)
	}
	if want := []string{nsPost("201")}; !slices.Equal(posts, want) {
		t.Errorf("posts %v, want %v", posts, want)
	}
	ns := decodeNamespace(t, objects["namespaces/kube-system"])
	if ns.Name != "kube-system" || ns.Namespace != "" || len(ns.Labels) != 0 {
		t.Errorf("posted namespace %+v", ns.ObjectMeta)
	}
	for _, want := range []string{"apiserver is not healthy yet", "HTTP 500", "apiserver is healthy", "created"} {
		if !strings.Contains(sink.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// Nothing listens at first (the apiserver is not started yet): a refused
// connection is "not yet" too.
func TestKubeSystemNamespaceWaitsForTheListener(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	f := &fakeAPI{objects: map[string][]byte{}}
	srv := httptest.NewUnstartedServer(f)
	t.Cleanup(srv.Close)
	time.AfterFunc(700*time.Millisecond, func() {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Error(err)
			return
		}
		srv.Listener = l
		srv.Start()
	})
	o, sink := kubeOpts(t, loopbackURL(port), 30*time.Second)
	if err := KubeSystemNamespace(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if _, posts, _ := f.snapshot(); !slices.Equal(posts, []string{nsPost("201")}) {
		t.Errorf("posts %v", posts)
	}
	if !strings.Contains(sink.String(), "connection refused") {
		t.Errorf("the wait did not log why it waited:\n%s", sink)
	}
}

// An apiserver that never gets healthy ends in an error at the deadline
// that names the last cause and what to look at; nothing is created.
func TestKubeHelpersGiveUpAtTheDeadline(t *testing.T) {
	t.Parallel()
	root, rc, svc := uiRoot(t)
	helpers := map[string]func(context.Context, KubeOptions) error{
		"kube-system-namespace": KubeSystemNamespace,
		"kube-ui": func(ctx context.Context, o KubeOptions) error {
			o.Files = root
			return KubeUI(ctx, KubeUIOptions{KubeOptions: o, RCFile: rc, SvcFile: svc})
		},
	}
	for name, run := range helpers {
		t.Run(name+"/answers 500", func(t *testing.T) {
			t.Parallel()
			f, srv := newFakeAPI(t)
			f.unhealthy = 1 << 30
			o, _ := kubeOpts(t, srv.URL, 1500*time.Millisecond)
			err := timed(t, 1500*time.Millisecond, 4*time.Second, func() error { return run(context.Background(), o) })
			mustContain(t, err, name+": ", "apiserver at "+srv.URL+" was not healthy", "within 1.5s",
				"HTTP 500", "etcd failed", "systemctl status kube-apiserver etcd")
			if _, posts, _ := f.snapshot(); len(posts) != 0 {
				t.Errorf("posted %v before the apiserver was healthy", posts)
			}
		})
		// Another program on the port (--api pointing at the wrong
		// service) may answer 200, but not the apiserver's "ok".
		t.Run(name+"/someone else answers", func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprint(w, "<h1>Welcome to nginx!</h1>")
			}))
			t.Cleanup(srv.Close)
			o, _ := kubeOpts(t, srv.URL, 1500*time.Millisecond)
			err := timed(t, 1500*time.Millisecond, 4*time.Second, func() error { return run(context.Background(), o) })
			mustContain(t, err, "was not healthy", "HTTP 200: <h1>Welcome to nginx!</h1>")
		})
		t.Run(name+"/not listening", func(t *testing.T) {
			t.Parallel()
			o, _ := kubeOpts(t, loopbackURL(freePort(t)), 1500*time.Millisecond)
			err := timed(t, 1500*time.Millisecond, 4*time.Second, func() error { return run(context.Background(), o) })
			mustContain(t, err, "was not healthy", "within 1.5s", "connection refused", "systemctl status kube-apiserver")
		})
	}
}

// SIGTERM (systemctl stop) while waiting ends the helper at once and says
// so, rather than blaming the apiserver.
func TestKubeSystemNamespaceInterrupted(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	f.unhealthy = 1 << 30
	o, _ := kubeOpts(t, srv.URL, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	err := timed(t, 300*time.Millisecond, 3*time.Second, func() error { return KubeSystemNamespace(ctx, o) })
	mustContain(t, err, "interrupted after", "waiting for the apiserver", "HTTP 500")
}

// Stopped while the create is being retried: the error says interrupted,
// not that the apiserver failed.
func TestKubeSystemNamespaceInterruptedWhileCreating(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	f.fail5xx = 1 << 30
	o, _ := kubeOpts(t, srv.URL, time.Minute)
	o.HTTP.RetryMax, o.HTTP.RetryWaitMin, o.HTTP.RetryWaitMax = 100, 100*time.Millisecond, 100*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	err := timed(t, 500*time.Millisecond, 3*time.Second, func() error { return KubeSystemNamespace(ctx, o) })
	mustContain(t, err, "interrupted while creating Namespace kube-system", "context canceled")
	if _, posts, _ := f.snapshot(); len(posts) < 2 {
		t.Errorf("posts %v: the create was not being retried when stopped", posts)
	}
}

// The second master (or a reboot) finds the namespace there: 409
// AlreadyExists is success, so the unit no longer ends "failed" (§9.11).
func TestKubeSystemNamespaceAlreadyExists(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	for i, want := range []string{"201", "409"} {
		o, sink := kubeOpts(t, srv.URL, 10*time.Second)
		if err := KubeSystemNamespace(context.Background(), o); err != nil {
			t.Fatalf("master %d: %v", i+1, err)
		}
		_, posts, _ := f.snapshot()
		if posts[len(posts)-1] != nsPost(want) {
			t.Errorf("master %d: posts %v, want the last to be %s", i+1, posts, want)
		}
		if want == "409" && !strings.Contains(sink.String(), `already exists; nothing to do`) {
			t.Errorf("the second master did not log the existing namespace:\n%s", sink)
		}
	}
}

// 5xx after /healthz said ok (etcd timing out under load) is retried; a
// 5xx that persists fails after the bounded retries with the apiserver's
// own message.
func TestKubeCreateRetries5xx(t *testing.T) {
	t.Parallel()
	t.Run("transient", func(t *testing.T) {
		t.Parallel()
		f, srv := newFakeAPI(t)
		f.fail5xx = 2
		o, _ := kubeOpts(t, srv.URL, 10*time.Second)
		if err := KubeSystemNamespace(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		if _, posts, _ := f.snapshot(); !slices.Equal(posts, []string{nsPost("500"), nsPost("500"), nsPost("201")}) {
			t.Errorf("posts %v", posts)
		}
	})
	t.Run("persistent", func(t *testing.T) {
		t.Parallel()
		f, srv := newFakeAPI(t)
		f.fail5xx = 1 << 30
		o, _ := kubeOpts(t, srv.URL, 10*time.Second)
		err := KubeSystemNamespace(context.Background(), o)
		mustContain(t, err, "create Namespace kube-system", "HTTP 500 InternalError", "etcdserver: request timed out", "kept failing after retries")
		if _, posts, _ := f.snapshot(); len(posts) != fastHTTP.RetryMax+1 {
			t.Errorf("%d attempts, want %d: %v", len(posts), fastHTTP.RetryMax+1, posts)
		}
	})
}

// 403 cannot get better by asking again: one attempt, then an error that
// quotes the apiserver and says what to check.
func TestKubeCreateForbiddenFailsFast(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	f.forbid = true
	o, _ := kubeOpts(t, srv.URL, 10*time.Second)
	err := timed(t, 0, time.Second, func() error { return KubeSystemNamespace(context.Background(), o) })
	mustContain(t, err, "kube-system-namespace: create Namespace kube-system (from built-in)", "HTTP 403 Forbidden",
		`User "system:anonymous" cannot create resource`, "insecure local port without credentials: check --api")
	if _, posts, _ := f.snapshot(); !slices.Equal(posts, []string{nsPost("403")}) {
		t.Errorf("posts %v, want exactly one attempt", posts)
	}
}

// With TLS the helper may be pointed at the secure port: it trusts the
// cluster CA through the agent's ca_bundle (or insecure mode), and fails at
// once, saying what to set, when it does not.
func TestKubeSystemNamespaceOverTLS(t *testing.T) {
	t.Parallel()
	newTLS := func(t *testing.T) (*fakeAPI, *httptest.Server) {
		f := &fakeAPI{objects: map[string][]byte{}}
		srv := httptest.NewTLSServer(f)
		t.Cleanup(srv.Close)
		return f, srv
	}
	t.Run("cluster CA in ca_bundle", func(t *testing.T) {
		t.Parallel()
		f, srv := newTLS(t)
		ca := filepath.Join(t.TempDir(), "ca.crt")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
		o, _ := kubeOpts(t, srv.URL, 10*time.Second)
		o.HTTP.CABundle = ca
		if err := KubeSystemNamespace(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		if _, posts, _ := f.snapshot(); !slices.Equal(posts, []string{nsPost("201")}) {
			t.Errorf("posts %v", posts)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		t.Parallel()
		f, srv := newTLS(t)
		o, _ := kubeOpts(t, srv.URL, 10*time.Second)
		o.HTTP.Insecure = true
		if err := KubeSystemNamespace(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		if _, posts, _ := f.snapshot(); !slices.Equal(posts, []string{nsPost("201")}) {
			t.Errorf("posts %v", posts)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		t.Parallel()
		f, srv := newTLS(t)
		o, _ := kubeOpts(t, srv.URL, 10*time.Second)
		err := timed(t, 0, 2*time.Second, func() error { return KubeSystemNamespace(context.Background(), o) })
		mustContain(t, err, "apiserver at "+srv.URL, "certificate", "set ca_bundle in the agent config", "--api http://127.0.0.1:8080")
		if healthz, posts, _ := f.snapshot(); healthz != 0 || len(posts) != 0 {
			t.Errorf("an untrusted server got %d healthz and %v", healthz, posts)
		}
	})
}

// A malformed --api is refused before any waiting.
func TestKubeRefusesABadURL(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"127.0.0.1:8080", "ftp://127.0.0.1", "http://"} {
		o, _ := kubeOpts(t, api, time.Minute)
		err := timed(t, 0, time.Second, func() error { return KubeSystemNamespace(context.Background(), o) })
		mustContain(t, err, "apiserver URL", "is not an http(s) URL", "(--api)")
	}
}

// timed runs fn, which must fail, and checks it took between lo and hi:
// a deadline is kept, and a fast failure does not sit out the wait.
func timed(t *testing.T, lo, hi time.Duration, fn func() error) error {
	t.Helper()
	start := time.Now()
	err := fn()
	if took := time.Since(start); took < lo || took > hi {
		t.Errorf("took %s, want within [%s, %s] (err: %v)", took.Round(time.Millisecond), lo, hi, err)
	}
	if err == nil {
		t.Fatal("succeeded; want an error")
	}
	return err
}
