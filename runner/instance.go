package runner

import (
	"strings"

	"github.com/heatstrap/heatstrap/hostfs"
)

// InstanceID names this node for Heat's signal id: stable across reruns so
// a resent signal overwrites its earlier entry instead of adding one. It is
// chosen once and then kept in the ledger.
func InstanceID(files *hostfs.FS) string {
	for _, p := range []string{"/var/lib/cloud/data/instance-id", "/etc/machine-id", "/etc/hostname"} {
		if b, err := files.ReadFile(p); err == nil {
			if id := strings.TrimSpace(string(b)); id != "" && id != "uninitialized" {
				return id
			}
		}
	}
	return "heatstrap-" + newRunID()
}
