package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/systemd"
)

// Polling between checks of one gate: from a quarter second (etcd is
// usually up within one) to five seconds, jittered.
const (
	gatePollMin = 250 * time.Millisecond
	gatePollMax = 5 * time.Second
	// probeTimeout bounds one HTTP probe: a local daemon answers in
	// milliseconds or is not up.
	probeTimeout = 5 * time.Second
)

// passGates asks again for the gated units to run, issues those jobs, and
// then waits for each gate in turn within its own deadline. The first gate
// that fails ends the wait: its error names the gate, the unit and its
// state, and becomes the FAILURE reason. It returns how many gates passed.
func passGates(ctx context.Context, e *Env, gates []Gate) (int, error) {
	var units []string
	for _, g := range gates {
		for _, u := range g.Units {
			if u.Applies(e) {
				units = append(units, u.Name)
			}
		}
	}
	// A no-op for a unit that runs with unchanged files; a start for one
	// that failed or was stopped since the step that started it (a rerun
	// after a fix resumes at the failed step, not at enable-services); a
	// restart for one whose files changed. Never waits for the jobs.
	if err := e.Units.Start(ctx, units...); err != nil {
		return 0, err
	}
	if err := e.Units.Flush(ctx); err != nil {
		return 0, err
	}
	for i, g := range gates {
		if err := waitGate(ctx, e, g); err != nil {
			return i, fmt.Errorf("gate %s: %w", g.Name, err)
		}
	}
	return len(gates), nil
}

// permanent marks a gate failure that waiting cannot mend: a failed or
// missing unit stays so until someone acts.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func waitGate(ctx context.Context, e *Env, g Gate) error {
	start := e.Now()
	gctx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := checkGate(gctx, e, g)
		if err == nil {
			e.Log.Info("gate passed", "gate", g.Name, "seconds", e.Now().Sub(start).Round(time.Millisecond).Seconds())
			return nil
		}
		if errors.As(err, new(permanent)) {
			return err
		}
		wait := httpclient.Backoff(gatePollMin, gatePollMax, attempt, nil)
		select {
		case <-gctx.Done():
			waited := e.Now().Sub(start).Round(time.Second)
			if ctx.Err() != nil {
				// The step's deadline, the run's or an interrupt, not the
				// gate's: the runner names the cause.
				return fmt.Errorf("%w (waited %s)", err, waited)
			}
			return fmt.Errorf("%w (still, after %s)", err, waited)
		case <-time.After(wait):
		}
	}
}

func checkGate(ctx context.Context, e *Env, g Gate) error {
	for _, u := range g.Units {
		if !u.Applies(e) {
			continue
		}
		st, err := e.Units.State(ctx, u.Name)
		if err != nil {
			return err
		}
		switch {
		case st.Up():
		case st.ActiveState == "failed" || st.LoadState != "loaded":
			return permanent{unitError(st)}
		case st.ActiveState == "inactive" && st.Job == 0:
			// passGates asked for a start; a unit that is down with no
			// job left had it cancelled, because something it needs did
			// not come up. Nothing will start it now: say what failed.
			return permanent{fmt.Errorf("%s: its start was cancelled%s", unitError(st), failedNeed(ctx, e, st))}
		default:
			return unitError(st)
		}
	}
	if g.Probe == nil {
		return nil
	}
	return g.Probe(ctx, e)
}

// failedNeed names the unit a cancelled start waited on in vain, as
// "; var-lib-docker.mount, which it needs, is failed (Result=exit-code)".
func failedNeed(ctx context.Context, e *Env, st systemd.UnitState) string {
	for _, dep := range st.Needs {
		if ds, err := e.Units.State(ctx, dep); err == nil && (ds.ActiveState == "failed" || ds.LoadState != "loaded") {
			return fmt.Sprintf("; %s, which it needs, %s", dep, strings.TrimPrefix(ds.String(), dep+" "))
		}
	}
	return " (see systemctl list-dependencies " + st.Name + ")"
}

// unitError is a unit's state as an error; the type lets a caller tell a
// unit that is down from an endpoint that does not answer.
type unitError systemd.UnitState

func (u unitError) Error() string { return systemd.UnitState(u).String() }

const etcdHealthURL = "http://127.0.0.1:2379/health"

// etcdHealthy: etcd answers for the cluster, i.e. it has a leader (etcd
// says {"health":"false"} with 503 while it has none).
func etcdHealthy(ctx context.Context, e *Env) error {
	body, err := probe(ctx, e, etcdHealthURL, "")
	if err != nil {
		return fmt.Errorf("etcd.service is active but %w", err)
	}
	var h struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(body, &h); err != nil || h.Health != "true" {
		return fmt.Errorf("etcd.service is active but GET %s says %s", etcdHealthURL, short(body))
	}
	return nil
}

// apiserverHealthy: the apiserver's /healthz on KUBE_API_PORT says ok,
// over https trusting only our CA (and the system roots) when TLS is on.
func apiserverHealthy(ctx context.Context, e *Env) error {
	hostport := net.JoinHostPort("127.0.0.1", strconv.Itoa(e.Params.KubeAPIPort))
	url, ca := "http://"+hostport+"/healthz", ""
	if !e.Params.TLSDisabled {
		hp, err := e.Files.Path(caCert)
		if err != nil {
			return err
		}
		url, ca = "https://"+hostport+"/healthz", hp
	}
	body, err := probe(ctx, e, url, ca)
	if err != nil {
		return fmt.Errorf("kube-apiserver.service is active but %w", err)
	}
	if strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("kube-apiserver.service is active but GET %s says %s", url, short(body))
	}
	return nil
}

// probe makes one GET (no retries: the gate's loop is the retry) and
// returns the body of a 200.
func probe(ctx context.Context, e *Env, url, ca string) ([]byte, error) {
	c, err := e.HTTP(httpclient.Options{CABundle: ca, AttemptTimeout: probeTimeout, RetryMax: -1})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.StandardClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, rootCause(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answers %s: %s", url, resp.Status, short(body))
	}
	return body, nil
}

// rootCause drops the url.Error and retry wrapping around a dial error:
// "connection refused" is what an operator needs to read.
func rootCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	return err
}

func short(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	if s == "" {
		s = "nothing"
	}
	return strconv.Quote(s)
}
