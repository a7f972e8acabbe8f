package nspawn

import (
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Listen opens a TCP listener inside the container's network namespace. A
// socket belongs to the namespace it was made in, so a test's own server
// answers on the container's loopback and is reachable from nowhere else.
func (c *Container) Listen(addr string) (net.Listener, error) { return listenIn(c.NetNS(), addr) }

func listenIn(nsPath, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	// A thread of its own: if switching back fails, the goroutine ends
	// still locked and Go retires the thread instead of reusing it.
	go func() {
		runtime.LockOSThread()
		ln, err := listenOnThisThread(nsPath, addr)
		done <- result{ln, err}
		if err == nil || !isRestoreError(err) {
			runtime.UnlockOSThread()
		}
	}()
	r := <-done
	return r.ln, r.err
}

type restoreError struct{ error }

func isRestoreError(err error) bool { _, ok := err.(restoreError); return ok }

func listenOnThisThread(nsPath, addr string) (net.Listener, error) {
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return nil, err
	}
	defer self.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("setns %s: %w", nsPath, err)
	}
	ln, lerr := net.Listen("tcp", addr)
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, restoreError{fmt.Errorf("setns back: %w", err)}
	}
	return ln, lerr
}
