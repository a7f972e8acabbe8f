package steps

import "context"

// srvKubernetes holds the node's TLS material (make-cert makes it 0500
// kube:kube) and the manifests podmaster copies.
const srvKubernetes = "/srv/kubernetes"

// writeKubeconfig writes the kubeconfig kubelet and kube-proxy use with TLS
// (spec N4). Mitaka wrote CA_CERT/CLIENT_CERT/CLIENT_KEY placeholders and
// had make_cert sed them into paths; the final paths are known up front, so
// they are rendered directly and make-cert never edits this file. Like
// Mitaka the file is written even with TLS disabled, when nothing reads it.
// It is kube:kube, as Mitaka's make_cert left it after chown -R.
//
// /srv/kubernetes is not converged here: hostfs creates it 0755 root:root
// when missing and leaves an existing one alone, so make-cert's 0500
// kube:kube survives a rewrite of this file.
var writeKubeconfig = Step{
	Name:    "write-kubeconfig",
	Summary: "the kubeconfig kubelet and kube-proxy use",
	Run: func(_ context.Context, e *Env) error {
		return e.writeFiles(file{path: kubeconfigPath, template: "kubeconfig.yaml", mode: 0o644, owner: kubeAccount, group: kubeAccount,
			data: map[string]string{"CA": caCert, "Cert": srvKubernetes + "/client.crt", "Key": srvKubernetes + "/client.key"}})
	},
}
