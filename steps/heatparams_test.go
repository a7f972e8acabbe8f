package steps

import (
	"slices"
	"testing"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/examples"
)

// heat-params holds tokens and passwords: the step makes it root:root 0600
// on both roles (Mitaka left the minion's 0644, CVE-2016-7404) without
// touching its content, and its checksum is a fingerprint input, so a new
// file reruns the step.
func TestWriteHeatParams(t *testing.T) {
	for _, role := range []config.Role{config.RoleMaster, config.RoleMinion} {
		t.Run(string(role), func(t *testing.T) {
			n := newTestNode(t, role, nil)
			hp := testSettings(n.root).HeatParams
			text, err := examples.FS.ReadFile(string(role) + ".heat-params")
			if err != nil {
				t.Fatal(err)
			}
			n.write(hp, string(text), 0o644)
			if changed := n.mustRun(runOpts{}, writeHeatParams); !slices.Equal(changed, []string{hp}) {
				t.Errorf("changed %v, want %s", changed, hp)
			}
			if got := n.checkMeta(hp, "0600 root:root"); got != string(text) {
				t.Errorf("content changed:\n%s", got)
			}
			n.assertQuietRerun(writeHeatParams, runOpts{}, hp)

			e := n.env(writeHeatParams)
			e.ParamsChecksum = "1111"
			before := writeHeatParams.Fingerprint(e)
			e.ParamsChecksum = "2222"
			if writeHeatParams.Fingerprint(e) == before {
				t.Error("the heat-params checksum is not a fingerprint input")
			}
		})
	}
}
