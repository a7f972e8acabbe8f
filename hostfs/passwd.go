package hostfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// The account databases (/etc/passwd, /etc/group, /etc/shadow, /etc/gshadow)
// are shared with useradd, groupadd, passwd, systemd-sysusers and
// cloud-init, all of which serialize through glibc's lckpwdf(3): a POSIX
// (fcntl) write lock on /etc/.pwd.lock. heatstrap takes the same lock, so an
// account tool running at the same time never loses our edit or we its.

// accountsLockFile is lckpwdf's lock file (glibc PWD_LOCKFILE).
const accountsLockFile = "/etc/.pwd.lock"

// AccountsLockTimeout bounds how long LockAccounts waits. lckpwdf gives up
// after 15 seconds too. A variable so tests can shorten it.
var AccountsLockTimeout = 15 * time.Second

// accountsPoll is how often a held lock is retried.
const accountsPoll = 50 * time.Millisecond

// accountsHeld serializes LockAccounts inside this process. fcntl locks
// belong to the process, not to the file descriptor: a second lock taken by
// another goroutine would succeed at once, and closing either descriptor
// would drop both. A one-slot channel (rather than a Mutex) lets the wait be
// bounded.
var accountsHeld = make(chan struct{}, 1)

// LockAccounts takes the account-database lock of the target root
// (<root>/etc/.pwd.lock, created 0600 like lckpwdf does), waiting at most
// AccountsLockTimeout. unlock releases it and is safe to call more than once.
//
// lckpwdf blocks in F_SETLKW and interrupts itself with alarm(2); a Go
// program cannot aim a signal at one blocked thread, so the wait is a poll
// of the non-blocking F_SETLK instead, with the same outcome: the lock, or
// an error naming the file after the bound.
func (f *FS) LockAccounts() (unlock func(), err error) {
	hp, err := f.Path(accountsLockFile)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(AccountsLockTimeout)
	timer := time.NewTimer(AccountsLockTimeout)
	defer timer.Stop()
	select {
	case accountsHeld <- struct{}{}:
	case <-timer.C:
		return nil, fmt.Errorf("lock %s: still held by this process after %s", f.Display(accountsLockFile), AccountsLockTimeout)
	}
	release := func() { <-accountsHeld }

	lf, err := os.OpenFile(hp, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		release()
		return nil, fmt.Errorf("lock %s: %w", f.Display(accountsLockFile), err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart} // whole file
	for {
		err = syscall.FcntlFlock(lf.Fd(), syscall.F_SETLK, &lk)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EINTR) {
			lf.Close()
			release()
			return nil, fmt.Errorf("lock %s: %w", f.Display(accountsLockFile), err)
		}
		if time.Now().After(deadline) {
			holder := holderOf(lf)
			lf.Close()
			release()
			return nil, fmt.Errorf("lock %s: held by another account tool%s for more than %s; retry when it has finished",
				f.Display(accountsLockFile), holder, AccountsLockTimeout)
		}
		time.Sleep(accountsPoll)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Closing the descriptor drops the lock (and would drop it even
			// if this explicit unlock failed).
			unlk := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: io.SeekStart}
			_ = syscall.FcntlFlock(lf.Fd(), syscall.F_SETLK, &unlk)
			lf.Close()
			release()
		})
	}, nil
}

// holderOf names the process holding the lock, when the kernel says.
func holderOf(lf *os.File) string {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(lf.Fd(), syscall.F_GETLK, &lk); err == nil && lk.Type != syscall.F_UNLCK && lk.Pid > 0 {
		return fmt.Sprintf(" (pid %d)", lk.Pid)
	}
	return ""
}

// ReplaceFile gives an existing regular file new content, keeping its mode
// and its numeric owner and group, atomically (temp file with final mode
// and owner, rename). Same content: nothing happens. It exists for files
// whose owner we must not translate through names: /etc/shadow is
// root:shadow on Debian, and an image's shadow group may have no entry the
// target's /etc/group resolves before we have finished editing it. The file
// must exist (fs.ErrNotExist otherwise); its parent directory is not touched.
func (f *FS) ReplaceFile(p string, data []byte) (changed bool, err error) {
	hp, err := f.Path(p)
	if err != nil {
		return false, err
	}
	st, err := os.Lstat(hp)
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("write %s: not a regular file", f.Display(p))
	}
	old, err := os.ReadFile(hp)
	if err != nil {
		return false, err
	}
	if bytes.Equal(old, data) {
		return false, nil
	}
	uid, gid := -1, -1
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		uid, gid = int(sys.Uid), int(sys.Gid)
	}
	if err := atomicWrite(hp, data, st.Mode().Perm(), uid, gid); err != nil {
		return false, fmt.Errorf("write %s: %w", f.Display(p), err)
	}
	f.log.add(p)
	f.ids.reset() // it may have been an account database
	return true, nil
}
