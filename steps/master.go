package steps

// Master is a master node's whole life, in the order of Magnum Mitaka's
// kubemaster.yaml MIME parts (spec §3.A, M1–M19).
var Master = []Step{
	disableSelinux,
	writeHeatParams,
	configureEtcd,
	kubeUser,
	writeKubeOsConfig,
	makeCert,
	configureDockerStorage,
	configureKubernetes,
	addProxy,
	enableServices,
	writeNetworkConfig,
	networkConfigService,
	networkService,
	kubeSystemNamespaceService,
	enableKubePodmaster,
	enableKubeProxy,
	kubeUIService,
	kubeExamples,
	masterWCNotify,
}
