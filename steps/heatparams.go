package steps

import (
	"context"
)

// writeHeatParams secures the parameter file. cloud-init writes it (with
// the mode the Heat template asks for); Mitaka left it 0644 on minions
// with tokens and passwords inside (CVE-2016-7404, spec §9.2). We make it
// root:root 0600 on both roles. Its checksum is part of the fingerprint,
// so a changed file makes this step (and the ledger header) record it.
var writeHeatParams = Step{
	Name:    "write-heat-params",
	Summary: "heat-params is root:root 0600 and its checksum recorded",
	Extra:   func(e *Env) []string { return []string{"sha256=" + e.ParamsChecksum} },
	Run: func(_ context.Context, e *Env) error {
		_, err := e.Files.SetMeta(e.Settings.HeatParams, 0o600, "root", "root")
		return err
	},
}
