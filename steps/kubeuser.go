package steps

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
)

// kubeUser makes sure the kube system user and group exist; /srv/kubernetes
// and the kubeconfig belong to them. On Fedora Atomic the kubernetes
// package created them; on other images nobody does, so heatstrap edits the
// target's own account databases (through hostfs, hence also under --root)
// the way useradd --system would, under the same lock.
//
// Mitaka's kube_user part (spec M4) only configured cloud-init's
// default_user, the interactive "minion" account with the Nova key pair and
// sudo. That stays cloud-init's job (cloud-config default_user): it needs
// the metadata key pair and sudoers handling, and heatstrap must not fight
// cloud-init over the same account.
//
// An existing kube user is never modified, whatever its uid.
var kubeUser = Step{
	Name:    "kube-user",
	Summary: "the kube system user and group exist",
	Run: func(_ context.Context, e *Env) error {
		// Look first without the lock, so a converged node (or image) is
		// not even given a lock file.
		if dbs, err := readAccounts(e); err != nil || (dbs.passwd.has(kubeAccount) && dbs.group.has(kubeAccount)) {
			return err
		}
		unlock, err := e.Files.LockAccounts()
		if err != nil {
			return err
		}
		defer unlock()
		dbs, err := readAccounts(e) // again, now that nobody else writes
		if err != nil {
			return err
		}
		return dbs.addKube(e)
	},
}

const (
	kubeAccount = "kube"
	// The system id range of login.defs (SYS_UID_MIN..SYS_UID_MAX).
	sysIDMin = 100
	sysIDMax = 999
)

// accountDB is one account database as read: its bytes, and its names with
// their numeric id (the third field; -1 for shadow files or when unparsable).
type accountDB struct {
	path   string
	data   []byte
	exists bool
	ids    map[string]int
}

func (d accountDB) has(name string) bool { _, ok := d.ids[name]; return ok }

func (d accountDB) used() map[int]bool {
	u := map[int]bool{}
	for _, id := range d.ids {
		u[id] = true
	}
	return u
}

func readAccountDB(e *Env, path string) (accountDB, error) {
	d := accountDB{path: path, ids: map[string]int{}}
	data, err := e.Files.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	} else if err != nil {
		return d, err
	}
	d.data, d.exists = data, true
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		// Blank lines, comments and NIS compat entries (+name, -name) name
		// no local account.
		if line == "" || strings.ContainsAny(line[:1], "#+-") {
			continue
		}
		f := strings.Split(line, ":")
		id := -1
		if len(f) > 2 {
			if n, err := strconv.Atoi(f[2]); err == nil {
				id = n
			}
		}
		d.ids[f[0]] = id
	}
	return d, sc.Err()
}

// with returns the database plus one line, the existing bytes untouched.
func (d accountDB) with(line string) []byte {
	out := append([]byte(nil), d.data...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, line+"\n"...)
}

// write stores the database whole with one more line. Existing files keep
// their mode and numeric owner; a missing passwd or group (a bare image
// tree) is created 0644 root:root, a missing shadow file is left missing.
func (d accountDB) write(e *Env, line string) error {
	if d.exists {
		_, err := e.Files.ReplaceFile(d.path, d.with(line))
		return err
	}
	_, err := e.Files.WriteFile(hostfs.File{Path: d.path, Data: d.with(line), Mode: 0o644})
	return err
}

type accountDBs struct{ passwd, group, shadow, gshadow accountDB }

func readAccounts(e *Env) (accountDBs, error) {
	var dbs accountDBs
	var errs []error
	for _, r := range []struct {
		db   *accountDB
		path string
	}{{&dbs.passwd, "/etc/passwd"}, {&dbs.group, "/etc/group"}, {&dbs.shadow, "/etc/shadow"}, {&dbs.gshadow, "/etc/gshadow"}} {
		var err error
		*r.db, err = readAccountDB(e, r.path)
		errs = append(errs, err)
	}
	return dbs, errors.Join(errs...)
}

// addKube adds what is missing. The writes are ordered so that a crash
// between two of them is repaired by the next run: each shadow entry is
// written before the entry whose absence makes the next run add it again.
func (dbs accountDBs) addKube(e *Env) error {
	needUser, needGroup := !dbs.passwd.has(kubeAccount), !dbs.group.has(kubeAccount)
	usedUIDs, usedGIDs := dbs.passwd.used(), dbs.group.used()
	gid := dbs.group.ids[kubeAccount]
	uid := -1
	switch {
	case needUser && needGroup:
		// useradd --system with a user group: one number free as both.
		id, err := freeSystemID(usedUIDs, usedGIDs)
		if err != nil {
			return err
		}
		uid, gid = id, id
	case needGroup: // the user exists: give the group its primary gid if free
		if g := kubePrimaryGID(dbs.passwd); g >= 0 && !usedGIDs[g] {
			gid = g
		} else {
			var err error
			if gid, err = freeSystemID(nil, usedGIDs); err != nil {
				return err
			}
		}
	case needUser: // the group exists: same number as the group when free
		if gid < 0 {
			return fmt.Errorf("%s: group %s has no numeric gid", e.Files.Display("/etc/group"), kubeAccount)
		}
		if !usedUIDs[gid] && gid >= sysIDMin && gid <= sysIDMax {
			uid = gid
		} else {
			var err error
			if uid, err = freeSystemID(usedUIDs, nil); err != nil {
				return err
			}
		}
	}
	if needGroup {
		if dbs.gshadow.exists && !dbs.gshadow.has(kubeAccount) {
			if err := dbs.gshadow.write(e, kubeAccount+":!::"); err != nil {
				return err
			}
		}
		if err := dbs.group.write(e, fmt.Sprintf("%s:x:%d:", kubeAccount, gid)); err != nil {
			return err
		}
	}
	if needUser {
		if dbs.shadow.exists && !dbs.shadow.has(kubeAccount) {
			// Locked password ("!"), last change today, no aging: what
			// useradd --system writes.
			if err := dbs.shadow.write(e, fmt.Sprintf("%s:!:%d::::::", kubeAccount, daysSinceEpoch(e))); err != nil {
				return err
			}
		}
		// As Fedora's kubernetes package creates it.
		line := fmt.Sprintf("%s:x:%d:%d:Kubernetes user:/:/sbin/nologin", kubeAccount, uid, gid)
		if err := dbs.passwd.write(e, line); err != nil {
			return err
		}
	}
	return nil
}

// freeSystemID is the highest id of the system range free in both sets,
// the way useradd --system allocates (deterministic).
func freeSystemID(usedA, usedB map[int]bool) (int, error) {
	for id := sysIDMax; id >= sysIDMin; id-- {
		if !usedA[id] && !usedB[id] {
			return id, nil
		}
	}
	return 0, fmt.Errorf("no free system id in %d..%d for %s", sysIDMin, sysIDMax, kubeAccount)
}

// kubePrimaryGID reads the existing kube user's primary gid (-1 if unknown).
func kubePrimaryGID(passwd accountDB) int {
	sc := bufio.NewScanner(bytes.NewReader(passwd.data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) > 3 && f[0] == kubeAccount {
			if g, err := strconv.Atoi(f[3]); err == nil {
				return g
			}
		}
	}
	return -1
}

func daysSinceEpoch(e *Env) int64 {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	return now().Unix() / 86400
}
