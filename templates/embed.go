// Package templates holds heatstrap's Heat templates: drop-ins for Magnum
// Mitaka's kubemaster.yaml and kubeminion.yaml whose user-data is three
// parts instead of the shell fragments. The userdata package evaluates the
// same files, so `heatstrap userdata` renders exactly what Heat would.
package templates

import "embed"

// FS holds kubemaster.yaml, kubeminion.yaml and fragments/.
//
//go:embed kubemaster.yaml kubeminion.yaml fragments
var FS embed.FS
