package disk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
)

// ByID is where udev links disks by serial number.
const ByID = "/dev/disk/by-id"

// Device is a block device found for docker storage.
type Device struct {
	// Name is how it was found, as the target system names it:
	// /dev/disk/by-id/virtio-0123…, or the path the operator gave.
	Name string
	// Node is Name with every symlink resolved inside the root: /dev/vdb.
	Node string
	// Host is the path to give commands (blkid, mkfs.xfs, pvcreate). On a
	// live node it is Node. When the root is not "/" (tests), Node only
	// exists as <root>/dev/vdb, and LVM accepts no device node outside
	// /dev, so Host is the host's own /dev/<kernel name> of the same
	// device number when there is one, else the root-joined node.
	Host string
}

func (d Device) String() string {
	if d.Name == d.Node {
		return d.Node
	}
	return d.Node + " (" + d.Name + ")"
}

// VolumeSuffixes are the endings that identify Cinder volume id's by-id
// link: the first 20 characters (virtio-blk and NVMe truncate the serial
// to 20: virtio-<20>, nvme-QEMU_NVMe_Ctrl_<20>) and the whole id
// (virtio-scsi keeps it: scsi-0QEMU_QEMU_HARDDISK_<id>). An id given as 32
// bare hex digits is put back into the dashed form Nova uses as serial.
func VolumeSuffixes(id string) []string {
	id = strings.ToLower(id)
	if len(id) == 32 && !strings.Contains(id, "-") {
		id = id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
	}
	if len(id) <= 20 {
		return []string{id}
	}
	return []string{id[:20], id}
}

// NotFoundError says what was looked for and what was there instead.
type NotFoundError struct {
	What    string   // e.g. `Cinder volume 0123…`
	Looked  string   // e.g. `an entry of /dev/disk/by-id ending in "0123…"`
	Listing []string // what the directory held; nil if it did not exist
	Dir     string
	Waited  time.Duration
}

func (e *NotFoundError) Error() string {
	msg := e.What + " not found"
	if e.Waited > 0 {
		msg = fmt.Sprintf("%s did not appear within %s", e.What, e.Waited.Round(time.Second))
	}
	msg += ": no " + e.Looked
	switch {
	case e.Dir == "":
	case e.Listing == nil:
		msg += fmt.Sprintf("; %s does not exist (no udev?)", e.Dir)
	case len(e.Listing) == 0:
		msg += fmt.Sprintf("; %s is empty", e.Dir)
	default:
		l := e.Listing
		if len(l) > 20 {
			l = append(l[:20:20], fmt.Sprintf("… (%d more)", len(e.Listing)-20))
		}
		msg += fmt.Sprintf("; %s has: %s", e.Dir, strings.Join(l, ", "))
	}
	return msg
}

// LookupVolume looks once for the by-id link of a Cinder volume.
func LookupVolume(files *hostfs.FS, volumeID string) (Device, error) {
	suffixes := VolumeSuffixes(volumeID)
	quoted := make([]string, len(suffixes))
	for i, s := range suffixes {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	nf := &NotFoundError{
		What:   "Cinder volume " + volumeID + " (DOCKER_VOLUME)",
		Looked: fmt.Sprintf("entry of %s ends in %s", ByID, strings.Join(quoted, " or ")),
		Dir:    ByID,
	}
	dir, err := files.Path(ByID)
	if err != nil {
		return Device{}, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Device{}, nf
	} else if err != nil {
		return Device{}, err
	}
	nf.Listing = []string{}
	var found []Device
	for _, ent := range entries {
		name := ent.Name()
		nf.Listing = append(nf.Listing, name)
		if !slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(strings.ToLower(name), s) }) {
			continue
		}
		d, err := Lookup(files, ByID+"/"+name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a link left behind by a detached disk
		} else if err != nil {
			return Device{}, err
		}
		// virtio-scsi disks get several links (scsi-0QEMU…, scsi-SQEMU…,
		// wwn-…): one device, however many names.
		if !slices.ContainsFunc(found, func(f Device) bool { return f.Node == d.Node }) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return Device{}, nf
	case 1:
		return found[0], nil
	}
	var all []string
	for _, d := range found {
		all = append(all, d.Name+" → "+d.Node)
	}
	return Device{}, fmt.Errorf("%s matches several devices: %s", nf.What, strings.Join(all, ", "))
}

// Lookup resolves a device path of the target system (symlinks followed
// inside the root) and checks that it is a block device. A missing path
// is an error wrapping fs.ErrNotExist.
func Lookup(files *hostfs.FS, name string) (Device, error) {
	node := filepath.Clean(name)
	for range 40 {
		hp, err := files.Path(node)
		if err != nil {
			return Device{}, err
		}
		st, err := os.Lstat(hp)
		if err != nil {
			return Device{}, fmt.Errorf("%s: %w", name, err)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			if st.Mode()&fs.ModeDevice == 0 || st.Mode()&fs.ModeCharDevice != 0 {
				return Device{}, fmt.Errorf("%s: %s is not a block device", name, node)
			}
			return Device{Name: name, Node: node, Host: hostNode(hp, st)}, nil
		}
		target, err := os.Readlink(hp)
		if err != nil {
			return Device{}, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(node), target)
		}
		node = filepath.Clean(target)
	}
	return Device{}, fmt.Errorf("%s: too many levels of symbolic links", name)
}

// LookupPath is Lookup for a path the operator gave (what names it in
// messages); a missing path is a *NotFoundError, so Wait keeps trying.
func LookupPath(files *hostfs.FS, name, what string) (Device, error) {
	d, err := Lookup(files, name)
	if errors.Is(err, fs.ErrNotExist) {
		return Device{}, &NotFoundError{What: what, Looked: "block device at " + name}
	}
	return d, err
}

// hostNode maps a device node to the host's /dev/<kernel name> for the
// same device number (see Device.Host). /sys is the running kernel's, not
// the root's: commands run on this kernel.
func hostNode(hp string, st fs.FileInfo) string {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return hp
	}
	rdev := sys.Rdev
	major := ((rdev >> 8) & 0xfff) | ((rdev >> 32) &^ 0xfff)
	minor := (rdev & 0xff) | ((rdev >> 12) &^ 0xff)
	link, err := os.Readlink(fmt.Sprintf("/sys/dev/block/%d:%d", major, minor))
	if err != nil {
		return hp
	}
	cand := "/dev/" + filepath.Base(link)
	if cand == hp {
		return hp
	}
	cst, err := os.Stat(cand)
	if err != nil || cst.Mode()&fs.ModeDevice == 0 || cst.Mode()&fs.ModeCharDevice != 0 {
		return hp
	}
	if csys, ok := cst.Sys().(*syscall.Stat_t); !ok || csys.Rdev != rdev {
		return hp
	}
	return cand
}

// Wait calls look until it finds a device, returns an error other than
// not-found, ctx ends, or timeout passes. Between tries it calls between
// (e.g. a udev trigger) when not nil, then sleeps with backoff from
// 250 ms to 2 s.
func Wait(ctx context.Context, timeout time.Duration, look func() (Device, error), between func(context.Context)) (Device, error) {
	start := time.Now()
	delay := 250 * time.Millisecond
	for {
		d, err := look()
		var nf *NotFoundError
		if err == nil || !errors.As(err, &nf) {
			return d, err
		}
		left := timeout - time.Since(start)
		if left <= 0 {
			nf.Waited = timeout
			return Device{}, nf
		}
		if between != nil {
			between(ctx)
		}
		t := time.NewTimer(min(delay, left))
		select {
		case <-ctx.Done():
			t.Stop()
			nf.Waited = time.Since(start)
			return Device{}, fmt.Errorf("%w (%w)", nf, context.Cause(ctx))
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}
