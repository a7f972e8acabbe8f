package steps

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
)

// TestManifestStepsConverge covers what the manifest steps share (their
// typed checks against k8s.io/api are in examples_test.go,
// podmaster_test.go and kubeproxy_test.go):
// files, modes and owners, quiet reruns, stale files rewritten (Mitaka
// wrote them only when absent, §9.7) and reads limited to the declared.
func TestManifestStepsConverge(t *testing.T) {
	mf := manifestsDir
	for _, tc := range []struct {
		name          string
		role          config.Role
		set           map[string]string
		step          Step
		dirs, files   []string
		want, wantNot []string // substrings of the concatenated files
	}{
		{name: "kube-examples", role: config.RoleMinion, step: kubeExamples,
			dirs:  []string{examplesDir},
			files: []string{examplesDir + "/replication-controller.yaml", examplesDir + "/pod-nginx-with-label.yaml", examplesDir + "/service.yaml", examplesDir + "/README.md"}},
		{name: "podmaster", role: config.RoleMaster, step: enableKubePodmaster,
			dirs:  []string{mf, srvManifestsDir},
			files: []string{mf + "/kube-podmaster.yaml", srvManifestsDir + "/kube-controller-manager.yaml", srvManifestsDir + "/kube-scheduler.yaml"},
			want:  []string{"--root-ca-file=/etc/kubernetes/ssl/ca.crt", "--service-account-private-key-file=/etc/kubernetes/ssl/server.key", `"--master=http://127.0.0.1:8080"`}},
		{name: "podmaster without TLS", role: config.RoleMaster, set: map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": "8080"}, step: enableKubePodmaster,
			dirs:    []string{mf, srvManifestsDir},
			files:   []string{mf + "/kube-podmaster.yaml", srvManifestsDir + "/kube-controller-manager.yaml", srvManifestsDir + "/kube-scheduler.yaml"},
			want:    []string{`"--master=http://127.0.0.1:8080"`},
			wantNot: []string{"--root-ca-file", "--service-account-private-key-file"}},
		{name: "proxy on a master", role: config.RoleMaster, step: enableKubeProxy,
			dirs: []string{mf}, files: []string{mf + "/kube-proxy.yaml"},
			want: []string{`"--master=http://127.0.0.1:8080"`, "privileged: true"}, wantNot: []string{"--kubeconfig", "srv-kube"}},
		{name: "proxy on a minion", role: config.RoleMinion, step: enableKubeProxy,
			dirs: []string{mf}, files: []string{mf + "/kube-proxy.yaml"},
			want: []string{`"--master=https://10.0.0.5:6443"`, `"--kubeconfig=/srv/kubernetes/kubeconfig.yaml"`, "srv-kube"}},
		{name: "proxy on a minion without TLS", role: config.RoleMinion, set: map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": "8080"}, step: enableKubeProxy,
			dirs: []string{mf}, files: []string{mf + "/kube-proxy.yaml"},
			want: []string{`"--master=http://10.0.0.5:8080"`}, wantNot: []string{"--kubeconfig"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, tc.role, copyMap(tc.set))
			n.mustRun(runOpts{}, tc.step)
			for _, d := range tc.dirs {
				n.checkMeta(d, "0755 root:root")
			}
			var all strings.Builder
			first := map[string]string{}
			for _, f := range tc.files {
				first[f] = n.checkMeta(f, "0644 root:root")
				all.WriteString(first[f])
			}
			mustContain(t, "manifests", all.String(), tc.want...)
			for _, s := range tc.wantNot {
				if strings.Contains(all.String(), s) {
					t.Errorf("manifests contain %q", s)
				}
			}
			n.assertQuietRerun(tc.step, runOpts{}, append(tc.dirs, tc.files...)...)

			for _, f := range tc.files {
				n.write(f, "stale: true\n", 0o600)
			}
			n.mustRun(runOpts{}, tc.step)
			for _, f := range tc.files {
				if got := n.checkMeta(f, "0644 root:root"); got != first[f] {
					t.Errorf("%s not rewritten:\n%s", f, got)
				}
			}
			checkReadsOnlyDeclared(t, tc.role, copyMap(tc.set), tc.step)
		})
	}
}

// make-cert leaves /srv/kubernetes 0500 kube:kube; creating the manifests
// directory below it must not loosen it.
func TestEnableKubePodmasterKeepsSrvKubernetes(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	n.mustRun(runOpts{}, kubeUser)
	srv := n.hostPath(srvKubernetes)
	if err := os.MkdirAll(srv, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.Chown(srv, 999, 999), os.Chmod(srv, 0o500)); err != nil {
		t.Fatal(err)
	}
	n.mustRun(runOpts{}, enableKubePodmaster)
	n.checkMeta(srvKubernetes, "0500 kube:kube")
	n.checkMeta(srvManifestsDir, "0755 root:root")
}

// Image settings are fingerprint inputs: changing one reruns the step.
func TestManifestStepsFingerprintImages(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	for _, tc := range []struct {
		step   Step
		change func(*config.Settings)
	}{
		{enableKubePodmaster, func(s *config.Settings) { s.Images.Podmaster = "podmaster:other" }},
		{enableKubePodmaster, func(s *config.Settings) { s.Images.Hyperkube = "hyperkube:other" }},
		{enableKubeProxy, func(s *config.Settings) { s.Images.Hyperkube = "hyperkube:other" }},
	} {
		e := n.env(tc.step)
		before := tc.step.Fingerprint(e)
		tc.change(&e.Settings)
		if tc.step.Fingerprint(e) == before {
			t.Errorf("%s: fingerprint ignores an image change", tc.step.Name)
		}
	}
}
