package disk

import (
	"context"
	"errors"
	"testing"

	"github.com/heatstrap/heatstrap/command"
)

type countingRunner struct{ ran []string }

func (c *countingRunner) Run(_ context.Context, cmd command.Cmd) ([]byte, error) {
	c.ran = append(c.ran, cmd.String())
	return nil, nil
}

func TestReadOnly(t *testing.T) {
	const dev = "/dev/vdb"
	inner := &countingRunner{}
	ro := ReadOnly(inner)
	for _, c := range []command.Cmd{blkidCmd(dev), wipefsListCmd(dev), pvsCmd(dev)} {
		if _, err := ro.Run(context.Background(), c); err != nil {
			t.Errorf("%s refused: %v", c, err)
		}
	}
	if len(inner.ran) != 3 {
		t.Fatalf("probes passed on: %q", inner.ran)
	}
	listAll := wipefsListCmd(dev)
	listAll.Args = append([]string{"--all"}, listAll.Args...)
	withStdin := pvsCmd(dev)
	withStdin.Stdin = []byte("y\n")
	for _, c := range []command.Cmd{
		{Name: "wipefs", Args: []string{"--all", dev}},
		listAll,
		{Name: "wipefs", Args: []string{"--json", "--output", "OFFSET,TYPE,UUID,LABEL,USAGE", "--all", dev}},
		{Name: "mkfs.xfs", Args: []string{"-q", "-K", "-L", "hs-docker", "-n", "ftype=1", dev}},
		{Name: "pvcreate", Args: []string{dev}},
		{Name: "vgcreate", Args: []string{"docker", dev}},
		{Name: "udevadm", Args: []string{"trigger", "--action=change", dev}},
		{Name: "blkid", Args: []string{"-o", "export", dev}}, // without -p: may update the cache
		{Name: "blkid"},
		withStdin,
	} {
		_, err := ro.Run(context.Background(), c)
		if !errors.Is(err, ErrNotProbe) || command.ExitCode(err) != -1 {
			t.Errorf("%s: %v", c, err)
		}
	}
	if len(inner.ran) != 3 {
		t.Errorf("a refused command reached the runner: %q", inner.ran)
	}
}
