package steps

import (
	"testing"

	"github.com/heatstrap/heatstrap/config"
)

// kube-proxy.yaml decodes strictly into a Pod and runs the proxy the way
// each role and TLS mode needs, from the configured hyperkube image.
func TestEnableKubeProxyManifests(t *testing.T) {
	for _, tc := range []struct {
		name    string
		role    config.Role
		set     map[string]string
		command []string
		volumes map[string]string
	}{
		{"master", config.RoleMaster, nil,
			[]string{"/hyperkube", "proxy", "--master=http://127.0.0.1:8080", "--logtostderr=true", "--v=0"},
			map[string]string{"ssl-certs-host": "/etc/ssl/certs"}},
		{"minion with TLS", config.RoleMinion, nil,
			[]string{"/hyperkube", "proxy", "--master=https://10.0.0.5:6443", "--kubeconfig=/srv/kubernetes/kubeconfig.yaml", "--logtostderr=true", "--v=0"},
			map[string]string{"ssl-certs-host": "/etc/ssl/certs", "srv-kube": "/srv/kubernetes"}},
		// Mitaka passed an empty --kubeconfig= here; it is left out.
		{"minion without TLS", config.RoleMinion, map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": "8080"},
			[]string{"/hyperkube", "proxy", "--master=http://10.0.0.5:8080", "--logtostderr=true", "--v=0"},
			map[string]string{"ssl-certs-host": "/etc/ssl/certs", "srv-kube": "/srv/kubernetes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, tc.role, tc.set)
			n.mustRun(customImages, enableKubeProxy)
			p := n.pod(manifestsDir+"/kube-proxy.yaml", "kube-proxy")
			if len(p.Spec.Containers) != 1 {
				t.Fatalf("containers %+v", p.Spec.Containers)
			}
			c := p.Spec.Containers[0]
			if c.Name != "kube-proxy" || c.Image != "registry.example:5000/hyperkube:v1.0.6" {
				t.Errorf("container %s image %s", c.Name, c.Image)
			}
			checkCommand(t, "kube-proxy", c, tc.command...)
			if sc := c.SecurityContext; sc == nil || sc.Privileged == nil || !*sc.Privileged {
				t.Errorf("not privileged: %+v", sc)
			}
			vols := hostPaths(t, p)
			mnt := mounts(c)
			if len(vols) != len(tc.volumes) || len(mnt) != len(tc.volumes) {
				t.Errorf("volumes %v mounts %v, want %v", vols, mnt, tc.volumes)
			}
			for name, path := range tc.volumes {
				if vols[name] != path || mnt[name] != path+" ro" {
					t.Errorf("volume %s: host %q mount %q, want %q read-only", name, vols[name], mnt[name], path)
				}
			}
		})
	}
}
