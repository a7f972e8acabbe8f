package disk

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/command"
)

// On an image without the tools, each error names the package to install
// (and nothing is run: there is nothing to run).
func TestMissingToolNamesPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	ctx, run, dev := context.Background(), command.Host{}, "/dev/vdb-heatstrap-test"
	for _, c := range []struct {
		pkg string
		err error
	}{
		{"util-linux", WipeAll(ctx, run, dev)},
		{"xfsprogs", MakeXFS(ctx, run, dev, "hs-docker")},
		{"lvm2", MakePV(ctx, run, dev)},
		{"lvm2", MakeVG(ctx, run, "docker", dev)},
		{"udev (systemd)", Settle(ctx, run, dev)},
		{"udev (systemd)", TriggerBlock(ctx, run)},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), "executable file not found") ||
			!strings.HasSuffix(c.err.Error(), "; install "+c.pkg+" in the image") {
			t.Errorf("want a hint to install %s: %v", c.pkg, c.err)
		}
	}

	requireRoot(t)
	node := filepath.Join(t.TempDir(), "vdb")
	mknodLike(t, "/dev/loop0", node)
	_, err := ProbeDevice(ctx, run, node)
	if err == nil || !strings.Contains(err.Error(), `probe `+node+`: blkid -p -o export `+node+`: exec: "blkid"`) ||
		!strings.HasSuffix(err.Error(), "; install util-linux in the image") {
		t.Errorf("probe: %v", err)
	}
}
