package hostfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
)

// idCache resolves user and group names through the target root's own
// /etc/passwd and /etc/group (never the host's: offline, an image's kube
// user has the image's uid).
type idCache struct {
	fs     *FS
	mu     sync.Mutex
	loaded bool
	users  map[string][2]int // name -> uid, primary gid
	groups map[string]int
	unames map[int]string
	gnames map[int]string
}

func (c *idCache) reset() {
	c.mu.Lock()
	c.loaded = false
	c.mu.Unlock()
}

func (c *idCache) load() error {
	if c.loaded {
		return nil
	}
	c.users = map[string][2]int{"root": {0, 0}}
	c.groups = map[string]int{"root": 0}
	c.unames = map[int]string{0: "root"}
	c.gnames = map[int]string{0: "root"}
	for _, db := range []struct {
		path string
		add  func(f []string) error
	}{
		{"/etc/passwd", func(f []string) error {
			uid, err1 := strconv.Atoi(f[2])
			gid, err2 := strconv.Atoi(f[3])
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			c.users[f[0]] = [2]int{uid, gid}
			if _, ok := c.unames[uid]; !ok {
				c.unames[uid] = f[0]
			}
			return nil
		}},
		{"/etc/group", func(f []string) error {
			gid, err := strconv.Atoi(f[2])
			if err != nil {
				return err
			}
			c.groups[f[0]] = gid
			if _, ok := c.gnames[gid]; !ok {
				c.gnames[gid] = f[0]
			}
			return nil
		}},
	} {
		data, err := c.fs.ReadFile(db.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		if err := parseDB(data, db.add); err != nil {
			return fmt.Errorf("%s: %w", c.fs.Display(db.path), err)
		}
	}
	c.loaded = true
	return nil
}

func parseDB(data []byte, add func([]string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 4 {
			return fmt.Errorf("line %d: too few fields", n)
		}
		if err := add(f); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	return sc.Err()
}

func (c *idCache) owner(user, group string) (uid, gid int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(); err != nil {
		return 0, 0, err
	}
	if user == "" {
		user = "root"
	}
	u, ok := c.users[user]
	if !ok {
		return 0, 0, fmt.Errorf("user %q does not exist in %s", user, c.fs.Display("/etc/passwd"))
	}
	uid, gid = u[0], u[1]
	if group != "" {
		g, ok := c.groups[group]
		if !ok {
			return 0, 0, fmt.Errorf("group %q does not exist in %s", group, c.fs.Display("/etc/group"))
		}
		gid = g
	}
	return uid, gid, nil
}

// Names maps numeric ids back to names (for golden trees and status).
func (f *FS) Names(uid, gid int) (user, group string) {
	c := f.ids
	c.mu.Lock()
	defer c.mu.Unlock()
	user, group = strconv.Itoa(uid), strconv.Itoa(gid)
	if c.load() != nil {
		return user, group
	}
	if n, ok := c.unames[uid]; ok {
		user = n
	}
	if n, ok := c.gnames[gid]; ok {
		group = n
	}
	return user, group
}
