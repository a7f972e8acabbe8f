package steps

import "context"

const examplesDir = "/etc/kubernetes/examples"

// kubeExamples installs the example manifests and walkthrough of spec M18.
// They are the Mitaka examples, including their quirk that service.yaml
// selects the labelled pod (app: nginx), not the replication controller's
// pods (name: nginx); the README says so instead of changing the examples.
var kubeExamples = Step{
	Name:    "kube-examples",
	Summary: "example manifests in /etc/kubernetes/examples",
	Run: func(_ context.Context, e *Env) error {
		var files []file
		for _, name := range []string{"replication-controller.yaml", "pod-nginx-with-label.yaml", "service.yaml", "README.md"} {
			files = append(files, file{path: examplesDir + "/" + name, template: "examples-" + name, mode: 0o644, owner: "root", group: "root"})
		}
		return e.writeFiles(files...)
	},
}
