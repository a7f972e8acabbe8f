package steps

import (
	"os"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
)

// kubeconfigV1 mirrors the part of clientcmd's v1 Config the file uses.
type kubeconfigV1 struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Clusters   []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server               string `json:"server,omitempty"`
			CertificateAuthority string `json:"certificate-authority"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string `json:"name"`
		User struct {
			ClientCertificate string `json:"client-certificate"`
			ClientKey         string `json:"client-key"`
		} `json:"user"`
	} `json:"users"`
	Contexts []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster string `json:"cluster"`
			User    string `json:"user"`
		} `json:"context"`
	} `json:"contexts"`
	CurrentContext string `json:"current-context"`
}

func TestWriteKubeconfig(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	if n.files.Exists(srvKubernetes) {
		t.Fatal("the skeleton already has /srv/kubernetes")
	}
	n.mustRun(runOpts{}, kubeUser, writeKubeconfig)
	n.checkMeta(srvKubernetes, "0755 root:root")
	text := n.checkMeta(kubeconfigPath, "0644 kube:kube")
	var kc kubeconfigV1
	decodeStrict(t, "kubeconfig", text, &kc)
	if kc.APIVersion != "v1" || kc.Kind != "Config" || kc.CurrentContext != "service-account-context" ||
		len(kc.Clusters) != 1 || kc.Clusters[0].Name != "kubernetes" || kc.Clusters[0].Cluster.CertificateAuthority != "/srv/kubernetes/ca.crt" ||
		kc.Clusters[0].Cluster.Server != "" ||
		len(kc.Users) != 1 || kc.Users[0].Name != "kubeclient" ||
		kc.Users[0].User.ClientCertificate != "/srv/kubernetes/client.crt" || kc.Users[0].User.ClientKey != "/srv/kubernetes/client.key" ||
		len(kc.Contexts) != 1 || kc.Contexts[0].Name != "service-account-context" ||
		kc.Contexts[0].Context.Cluster != "kubernetes" || kc.Contexts[0].Context.User != "kubeclient" {
		t.Errorf("kubeconfig: %+v", kc)
	}
	for _, placeholder := range []string{"CA_CERT", "CLIENT_CERT", "CLIENT_KEY"} {
		if strings.Contains(text, placeholder) {
			t.Errorf("kubeconfig still has %s", placeholder)
		}
	}
	n.assertQuietRerun(writeKubeconfig, runOpts{}, kubeconfigPath, srvKubernetes)
}

// After make-cert, /srv/kubernetes is 0500 kube:kube; rewriting a stale
// kubeconfig (Mitaka's placeholders) must not loosen it.
func TestWriteKubeconfigKeepsSrvKubernetes(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	n.mustRun(runOpts{}, kubeUser)
	n.write(kubeconfigPath, "certificate-authority: CA_CERT\n", 0o644)
	if err := os.Chown(n.hostPath(srvKubernetes), 999, 999); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(n.hostPath(srvKubernetes), 0o500); err != nil {
		t.Fatal(err)
	}
	n.mustRun(runOpts{}, writeKubeconfig)
	n.checkMeta(srvKubernetes, "0500 kube:kube")
	mustContain(t, "kubeconfig", n.checkMeta(kubeconfigPath, "0644 kube:kube"), "certificate-authority: \"/srv/kubernetes/ca.crt\"")
	n.assertQuietRerun(writeKubeconfig, runOpts{}, kubeconfigPath, srvKubernetes)
}

func TestWriteKubeconfigReadsOnlyDeclared(t *testing.T) {
	checkReadsOnlyDeclared(t, config.RoleMinion, nil, writeKubeconfig, kubeUser)
}
