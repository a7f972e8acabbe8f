package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/heat/heattest"
	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/ledger"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestMain keeps every run on loopback: clients refuse anything else, and
// the metadata service is a closed local port (make-cert then uses the
// SANs it has without waiting).
func TestMain(m *testing.M) {
	os.Setenv(httpclient.LoopbackOnlyEnv, "1")
	os.Setenv("HEATSTRAP_METADATA_URL", "http://127.0.0.1:1")
	os.Exit(m.Run())
}

// openstack is a Keystone and Magnum that know none of the example's
// credentials: make-cert fails fast with a 401, on loopback.
func openstack(t *testing.T) map[string]string {
	t.Helper()
	c := magnumtest.New(magnumtest.Options{})
	t.Cleanup(c.Close)
	return map[string]string{"MAGNUM_URL": c.MagnumURL(), "AUTH_URL": c.AuthURL()}
}

func with(m map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

type result struct {
	code           int
	stdout, stderr string
}

func cli(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// node is a temp root seeded like the demo, with heat-params of our choice.
type node struct {
	t    *testing.T
	root string
}

func newNode(t *testing.T, params string) *node {
	t.Helper()
	root := t.TempDir()
	if err := seedDemoRoot(root); err != nil {
		t.Fatal(err)
	}
	n := &node{t, root}
	n.params(params)
	return n
}

func (n *node) params(text string) {
	n.t.Helper()
	if err := os.WriteFile(filepath.Join(n.root, "etc/sysconfig/heat-params"), []byte(text), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) cli(args ...string) result {
	n.t.Helper()
	return cli(n.t, append([]string{"--root", n.root}, args...)...)
}

func example(t *testing.T, name string, set map[string]string) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		key := strings.SplitN(l, "=", 2)[0]
		if v, ok := set[key]; ok {
			l = key + "=\"" + v + "\""
			delete(set, key)
		}
		lines = append(lines, l)
	}
	for k, v := range set {
		lines = append(lines, k+"=\""+v+"\"")
	}
	return strings.Join(lines, "\n") + "\n"
}

// Every command's help is golden; the list comes from the command tree,
// so a new command cannot go without one.
func TestHelpGolden(t *testing.T) {
	all := [][]string{{"--help"}}
	for _, c := range newRootCmd(io.Discard, io.Discard).Commands() {
		if c.Name() != "help" && c.Name() != "completion" {
			all = append(all, []string{c.Name(), "--help"})
		}
	}
	for _, args := range all {
		name := strings.Join(args[:len(args)-1], "-")
		if name == "" {
			name = "heatstrap"
		}
		r := cli(t, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		golden := filepath.Join("testdata", "help", name+".golden")
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(r.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./cmd/heatstrap -update)", err)
		}
		if r.stdout != string(want) {
			t.Errorf("%s help changed; run go test ./cmd/heatstrap -update and review the diff\n--- got\n%s\n--- want\n%s", name, r.stdout, want)
		}
	}
}

func TestStepsListsBothPlans(t *testing.T) {
	r := cli(t, "steps")
	if r.code != 0 || !strings.Contains(r.stdout, "master plan (19 steps)") || !strings.Contains(r.stdout, "minion plan (15 steps)") {
		t.Fatalf("%+v", r)
	}
	if r := cli(t, "steps", "--role", "minion"); strings.Contains(r.stdout, "master plan") || !strings.Contains(r.stdout, "minion-wc-notify") {
		t.Fatalf("%+v", r)
	}
}

func TestUnknownStepFailsAtParsing(t *testing.T) {
	r := cli(t, "run", "--step", "configure-etcdd")
	if r.code != exitUsage || !strings.Contains(r.stderr, `unknown step "configure-etcdd"; valid steps: disable-selinux, write-heat-params, configure-etcd`) {
		t.Fatalf("%+v", r)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	n := newNode(t, example(t, "master.heat-params", map[string]string{"KUBE_API_PORT": "x", "FLANNEL_NETWORK_CIDR": "10.100.0.1/16", "USER_TOKEN": ""}))
	r := n.cli("validate")
	for _, want := range []string{"3 problem(s)", `KUBE_API_PORT: "x": not a port number`, "FLANNEL_NETWORK_CIDR", "USER_TOKEN: required"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("validate output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != exitFailed {
		t.Errorf("exit %d", r.code)
	}
	n.params(example(t, "master.heat-params", nil))
	if r := n.cli("validate"); r.code != 0 || !strings.Contains(r.stdout, "valid, role master") {
		t.Errorf("%+v", r)
	}
}

func emulator(t *testing.T) (*heattest.Server, *heattest.WaitCondition) {
	t.Helper()
	s := heattest.NewServer(heattest.Options{})
	t.Cleanup(s.Close)
	return s, s.CreateWaitCondition(heattest.WaitConditionSpec{})
}

func waitStatus(t *testing.T, wc *heattest.WaitCondition) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := wc.WaitFor(ctx); err != nil {
		t.Fatalf("wait condition still %v: %v", wc.Snapshot().Status, err)
	}
	return wc.Status()
}

// Invalid parameters reach Heat as FAILURE naming the keys, within seconds.
func TestInvalidParamsReportedToHeat(t *testing.T) {
	_, wc := emulator(t)
	n := newNode(t, example(t, "master.heat-params", map[string]string{"WAIT_CURL": wc.CurlCLI(), "KUBE_API_PORT": "x", "TLS_DISABLED": "maybe"}))
	r := n.cli("run")
	if r.code != exitFailed {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	status, reason := waitStatus(t, wc)
	if status != "FAILED" || !strings.Contains(reason, "invalid heat-params: KUBE_API_PORT, TLS_DISABLED") {
		t.Fatalf("%s: %s", status, reason)
	}

	// A malformed file (a value broken by a newline) is reported as well.
	_, wc2 := emulator(t)
	n.params("KUBE_NODE_IP=\"10.0.0.4\nx\"\nWAIT_CURL=\"" + wc2.CurlCLI() + "\"\n")
	if r := n.cli("run"); r.code != exitFailed {
		t.Fatalf("exit %d", r.code)
	}
	if status, reason := waitStatus(t, wc2); status != "FAILED" || !strings.Contains(reason, "KUBE_NODE_IP: unterminated") {
		t.Fatalf("%s: %s", status, reason)
	}
}

// A failing step stops the run, fails the wait condition naming the step,
// and status exits 1; the signal can be resent and overwrites by id.
func TestStepFailureReportedToHeat(t *testing.T) {
	srv, wc := emulator(t)
	n := newNode(t, example(t, "master.heat-params", with(openstack(t), "WAIT_CURL", wc.CurlCLI())))
	r := n.cli("run")
	if r.code != exitFailed {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	l, err := (&ledger.Store{FS: hostfs.New(n.root), Path: "/var/lib/heatstrap/status.json"}).Load()
	if err != nil {
		t.Fatal(err)
	}
	var failed string
	for _, s := range l.Steps {
		if s.State == ledger.Failed {
			failed = s.Name
		}
	}
	status, reason := waitStatus(t, wc)
	if failed == "" || status != "FAILED" || !strings.Contains(reason, "step "+failed+" failed: ") {
		t.Fatalf("failed step %q; wait condition %s: %s", failed, status, reason)
	}
	if st := n.cli("status"); st.code != exitFailed || !strings.Contains(st.stdout, "FAILURE delivered") || !strings.Contains(st.stdout, "overall: failed") {
		t.Fatalf("status: %+v", st)
	}
	if st := n.cli("status", "--json"); st.code != exitFailed || !strings.Contains(st.stdout, `"overall": "failed"`) {
		t.Fatalf("status --json: %+v", st)
	}
	if r := n.cli("signal"); r.code != 0 {
		t.Fatalf("signal: %+v", r)
	}
	srv.Settle()
	if md := wc.Metadata(); len(md) != 1 {
		t.Fatalf("resend added an entry: %v", md)
	}
}

func TestSecondRunIsRefusedWhileLocked(t *testing.T) {
	n := newNode(t, example(t, "master.heat-params", map[string]string{"WAIT_CURL": ""}))
	lock, err := ledger.Acquire(hostfs.New(n.root), "/var/lib/heatstrap")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	r := n.cli("run")
	if r.code != exitLocked || !strings.Contains(r.stderr, "another heatstrap run holds the lock (pid ") {
		t.Fatalf("%+v", r)
	}
}

func TestStatusWithoutLedger(t *testing.T) {
	n := newNode(t, "")
	if r := n.cli("status"); r.code != exitUsage || !strings.Contains(r.stdout, "no run recorded yet") {
		t.Fatalf("%+v", r)
	}
}

// The redaction canary: secret values fed through heat-params never appear
// in stdout, stderr (text and JSON logs at debug), the ledger, the signal
// bodies Heat received, or any file the run wrote that is not 0600.
func TestCanarySecretsNeverLeak(t *testing.T) {
	srv, wc := emulator(t)
	canaries := map[string]string{
		"USER_TOKEN": "CANARY-user-token-1", "PASSWORD": "CANARY-password-2", "TRUSTEE_PASSWORD": "CANARY-trustee-3",
		"REGISTRY_PASSWORD": "CANARY-registry-4", "REGISTRY_TRUST_ID": "CANARY-trust-5",
	}
	set := with(openstack(t), "WAIT_CURL", wc.CurlCLI(), "TRUSTEE_USER_ID", "u", "TRUST_ID", "t")
	for k, v := range canaries {
		set[k] = v
	}
	secrets := []string{wc.Token()}
	for _, v := range canaries {
		secrets = append(secrets, v)
	}
	n := newNode(t, example(t, "master.heat-params", set))
	var outputs []string
	for _, args := range [][]string{
		{"--log-level", "debug", "run"}, {"--log-level", "debug", "--log-format", "json", "run", "--force"},
		{"status"}, {"status", "--json"}, {"plan"}, {"validate"}, {"--log-level", "debug", "signal"},
		{"--log-level", "debug", "signal", "--status", "FAILURE", "--reason", "token " + wc.Token() + " and CANARY-password-2"},
	} {
		r := n.cli(args...)
		outputs = append(outputs, r.stdout, r.stderr)
	}
	srv.Settle()
	for _, req := range srv.Requests() {
		outputs = append(outputs, string(req.Body))
	}
	for _, e := range wc.Metadata() {
		outputs = append(outputs, e.Status, fmtAny(e.Reason), fmtAny(e.Data))
	}
	err := filepath.WalkDir(n.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == filepath.Join(n.root, "etc/sysconfig/heat-params") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o077 != 0 || strings.HasSuffix(p, ledger.FileName) {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			outputs = append(outputs, p+": "+string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(outputs, "\n")
	if !strings.Contains(all, "***") || !strings.Contains(all, "step ") {
		t.Fatalf("the canary run produced no redacted output; it tests nothing:\n%s", all)
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("secret %q leaked", s)
		}
	}
}

func fmtAny(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
