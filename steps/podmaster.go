package steps

import (
	"context"

	"github.com/heatstrap/heatstrap/config"
)

const (
	manifestsDir    = "/etc/kubernetes/manifests" // kubelet's static pods
	srvManifestsDir = srvKubernetes + "/manifests"
)

// enableKubePodmaster installs podmaster and the two manifests it hands
// out (spec M15): on every master the kube-podmaster static pod competes
// for an etcd lease per component and copies the winner's manifest from
// /srv/kubernetes/manifests into kubelet's manifest directory, so exactly
// one scheduler and one controller-manager run in the cluster.
//
// Deliberate differences from Mitaka:
//   - the manifests are rendered whole on every run; Mitaka wrote them only
//     when absent, so a changed image or flag never reached a node (§9.7);
//   - with TLS disabled the controller-manager gets no
//     --service-account-private-key-file/--root-ca-file at all; Mitaka
//     passed them with empty values, which the flags treat as unset, so the
//     behaviour is the same without flags that look like they name a file;
//   - the local API URL follows KUBE_API_PORT when TLS is disabled (the
//     apiserver's insecure port then is KUBE_API_PORT; Mitaka hard-coded
//     8080, the value Magnum always passed).
var enableKubePodmaster = Step{
	Name:    "enable-kube-podmaster",
	Summary: "podmaster elects one scheduler and controller-manager",
	Reads:   []config.Key{config.TLSDisabled, config.KubeAPIPort},
	Extra: func(e *Env) []string {
		return []string{e.Settings.Images.Podmaster, e.Settings.Images.Hyperkube}
	},
	Run: func(_ context.Context, e *Env) error {
		img := e.Settings.Images
		data := struct {
			Podmaster, Hyperkube, Master string
			TLS                          bool
		}{img.Podmaster, img.Hyperkube, localAPI(e.Params), !e.Params.TLSDisabled}
		files := []file{
			{path: manifestsDir + "/kube-podmaster.yaml", template: "kube-podmaster.yaml"},
			{path: srvManifestsDir + "/kube-controller-manager.yaml", template: "kube-controller-manager.yaml"},
			{path: srvManifestsDir + "/kube-scheduler.yaml", template: "kube-scheduler.yaml"},
		}
		for i := range files {
			files[i].data, files[i].mode, files[i].owner, files[i].group = data, 0o644, "root", "root"
		}
		// Missing directories are created 0755 root:root; /srv/kubernetes,
		// when make-cert made it 0500 kube:kube, keeps that.
		return e.writeFiles(files...)
	},
}
