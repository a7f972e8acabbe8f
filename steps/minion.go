package steps

// Minion is a minion node's whole life, in the order of Magnum Mitaka's
// kubeminion.yaml MIME parts (spec §3.B, N1–N15).
var Minion = []Step{
	disableSelinux,
	writeHeatParams,
	kubeUser,
	writeKubeconfig,
	makeCert,
	kubeExamples,
	configureDockerStorage,
	configureDockerRegistry,
	configureKubernetesMinion,
	networkService,
	addProxy,
	enableServices,
	enableKubeProxy,
	enableDockerRegistry,
	minionWCNotify,
}
