package disk

import (
	"os"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Hidden counts the entries of dir, a directory of the target system,
// that a filesystem mounted on it would hide (0 when dir is missing or
// empty). Mounting hides, it does not delete: they come back on unmount.
func Hidden(files *hostfs.FS, dir string) int {
	hp, err := files.Path(dir)
	if err != nil {
		return 0
	}
	ents, err := os.ReadDir(hp)
	if err != nil {
		return 0
	}
	return len(ents)
}
