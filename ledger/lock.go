package ledger

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Lock is the one-agent-at-a-time lock: an flock on <state dir>/lock, held
// for the whole run and released by the kernel if the process dies.
type Lock struct{ f *os.File }

// ErrLocked is wrapped by Acquire when another run holds the lock.
var ErrLocked = errors.New("locked")

// Acquire takes the lock without waiting.
func Acquire(fsys *hostfs.FS, stateDir string) (*Lock, error) {
	if _, err := fsys.EnsureDir(stateDir, 0o700, "", ""); err != nil {
		return nil, err
	}
	hp, err := fsys.Path(stateDir + "/lock")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(hp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another heatstrap run holds the lock (pid %s): %w", pid, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", hp, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

func readPID(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	if pid := strings.TrimSpace(string(buf[:n])); pid != "" {
		return pid
	}
	return "unknown"
}

// Held reports whether some process holds the lock right now.
func Held(fsys *hostfs.FS, stateDir string) bool {
	hp, err := fsys.Path(stateDir + "/lock")
	if err != nil {
		return false
	}
	f, err := os.Open(hp)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
