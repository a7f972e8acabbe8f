package steps

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/systemd"
)

// unitsNow plays systemd's answers to State for the gate logic; the live
// manager itself is tested against real systemd (systemd/live_test.go,
// test/e2e).
type unitsNow struct {
	systemd.Manager // offline: Enable and friends are never called here
	mu              sync.Mutex
	states          map[string]systemd.UnitState
	started         []string
	flushed         int
}

func (u *unitsNow) set(st systemd.UnitState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.states[st.Name] = st
}

func (u *unitsNow) State(_ context.Context, name string) (systemd.UnitState, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if st, ok := u.states[name]; ok {
		return st, nil
	}
	return systemd.UnitState{Name: name, LoadState: "not-found", ActiveState: "inactive", SubState: "dead"}, nil
}

func (u *unitsNow) Start(_ context.Context, names ...string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.started = append(u.started, names...)
	return nil
}

func (u *unitsNow) Flush(context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.flushed++
	return nil
}

func active(name string) systemd.UnitState {
	return systemd.UnitState{Name: name, LoadState: "loaded", ActiveState: "active", SubState: "running"}
}

func gateEnv(t *testing.T, set map[string]string) (*Env, *unitsNow) {
	t.Helper()
	n := newTestNode(t, config.RoleMaster, set)
	e := n.env(masterWCNotify)
	e.Params = n.params // gates read keys the notify step declares
	u := &unitsNow{states: map[string]systemd.UnitState{}}
	e.Units, e.Live = u, true
	e.HTTP = func(o httpclient.Options) (*retryablehttp.Client, error) { return httpclient.New(o) }
	return e, u
}

func quickGate(units ...string) Gate {
	g := Gate{Name: "test-gate", Timeout: 2 * time.Second}
	for _, name := range units {
		g.Units = append(g.Units, always(name))
	}
	return g
}

// A failed unit will not recover by waiting: its gate fails at once and
// says so, as the FAILURE reason Heat shows.
func TestGateFailedUnitFailsAtOnce(t *testing.T) {
	e, u := gateEnv(t, nil)
	u.set(active("docker.service"))
	u.set(systemd.UnitState{Name: "etcd.service", LoadState: "loaded", ActiveState: "failed", SubState: "failed", Result: "exit-code"})
	start := time.Now()
	n, err := passGates(context.Background(), e, []Gate{quickGate("docker.service", "etcd.service")})
	if n != 0 || err == nil || err.Error() != "gate test-gate: etcd.service is failed (Result=exit-code)" {
		t.Errorf("passed %d: %v", n, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s to report a failed unit", d)
	}
	if !slices.Equal(u.started, []string{"docker.service", "etcd.service"}) || u.flushed != 1 {
		t.Errorf("asked to start %v, flushed %d", u.started, u.flushed)
	}
}

// docker's start is dropped when its mount fails; docker itself is just
// "inactive". The reason names the unit that failed.
func TestGateCancelledStartNamesWhatFailed(t *testing.T) {
	e, u := gateEnv(t, nil)
	u.set(systemd.UnitState{Name: "docker.service", LoadState: "loaded", ActiveState: "inactive", SubState: "dead",
		Needs: []string{"docker.socket", "var-lib-docker.mount"}})
	u.set(active("docker.socket"))
	u.set(systemd.UnitState{Name: "var-lib-docker.mount", LoadState: "loaded", ActiveState: "failed", SubState: "failed", Result: "exit-code"})
	_, err := passGates(context.Background(), e, []Gate{quickGate("docker.service")})
	want := "gate test-gate: docker.service is inactive (dead): its start was cancelled; var-lib-docker.mount, which it needs, is failed (Result=exit-code)"
	if err == nil || err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
}

// A unit on its way up is waited for, within the gate's deadline.
func TestGateWaitsThenPasses(t *testing.T) {
	e, u := gateEnv(t, nil)
	u.set(systemd.UnitState{Name: "etcd.service", LoadState: "loaded", ActiveState: "activating", SubState: "start", Job: 7})
	go func() {
		time.Sleep(400 * time.Millisecond)
		u.set(active("etcd.service"))
	}()
	if n, err := passGates(context.Background(), e, []Gate{quickGate("etcd.service")}); n != 1 || err != nil {
		t.Errorf("passed %d: %v", n, err)
	}
}

func TestGateDeadline(t *testing.T) {
	e, u := gateEnv(t, nil)
	u.set(systemd.UnitState{Name: "etcd.service", LoadState: "loaded", ActiveState: "activating", SubState: "start", Job: 7})
	g := quickGate("etcd.service")
	g.Timeout = 700 * time.Millisecond
	start := time.Now()
	_, err := passGates(context.Background(), e, []Gate{g})
	if err == nil || !strings.HasPrefix(err.Error(), "gate test-gate: etcd.service is activating (start, job queued) (still, after") {
		t.Errorf("error %v", err)
	}
	if d := time.Since(start); d < g.Timeout || d > g.Timeout+6*time.Second {
		t.Errorf("gave up after %s, deadline %s", d, g.Timeout)
	}
}

// Units a plan does not start are not waited for: no flannel units
// without flannel.
func TestGateUnitsFollowTheParameters(t *testing.T) {
	e, u := gateEnv(t, map[string]string{"NETWORK_DRIVER": "none"})
	for _, g := range Gates(config.RoleMaster) {
		for _, gu := range g.Units {
			u.set(active(gu.Name))
		}
	}
	gates := slices.Clone(Gates(config.RoleMaster))
	for i := range gates {
		gates[i].Probe = nil // the endpoints are the next tests'
	}
	if _, err := passGates(context.Background(), e, gates); err != nil {
		t.Fatal(err)
	}
	for _, name := range u.started {
		if strings.HasPrefix(name, "flannel") {
			t.Errorf("asked for %s without flannel", name)
		}
	}
	if !slices.Contains(u.started, "kube-apiserver.service") || !slices.Contains(u.started, "var-lib-docker.mount") {
		t.Errorf("started %v", u.started)
	}
}

// With TLS the apiserver gate speaks https and trusts the cluster CA that
// make-cert wrote, nothing else.
func TestApiserverGateTrustsTheClusterCA(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			io.WriteString(w, "ok")
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	e, _ := gateEnv(t, map[string]string{"TLS_DISABLED": "False", "KUBE_API_PORT": u.Port()})
	if err := apiserverHealthy(context.Background(), e); err == nil || !strings.Contains(err.Error(), "ca.crt") {
		t.Errorf("without the CA file: %v", err)
	}
	writeCA := func(data []byte) {
		if _, err := e.Files.WriteFile(hostfs.File{Path: caCert, Data: data, Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
	}
	writeCA(caPEM)
	if err := apiserverHealthy(context.Background(), e); err != nil {
		t.Errorf("with the cluster CA: %v", err)
	}
	writeCA(otherCA(t))
	if err := apiserverHealthy(context.Background(), e); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("with another CA: %v", err)
	}

	e, _ = gateEnv(t, map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": u.Port()})
	err := apiserverHealthy(context.Background(), e)
	if want := fmt.Sprintf("GET http://127.0.0.1:%s/healthz answers 400", u.Port()); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("plain http to a TLS port: %v", err)
	}
}

// otherCA is a CA that signed nothing the test servers present (they all
// share httptest's one certificate).
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
