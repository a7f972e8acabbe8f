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
func (c *Container) Listen(addr string) (net.Listener, error) {
	var ln net.Listener
	err := c.InNetNS(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// InNetNS runs f on an OS thread switched into the container's network
// namespace: the sockets f makes (a dial to the container's loopback, a
// listener) stay there after f returns.
func (c *Container) InNetNS(f func() error) error {
	done := make(chan error, 1)
	// A thread of its own: if switching back fails, the goroutine ends
	// still locked and Go retires the thread instead of reusing it.
	go func() {
		runtime.LockOSThread()
		err := onThreadIn(c.NetNS(), f)
		done <- err
		if _, tainted := err.(restoreError); !tainted {
			runtime.UnlockOSThread()
		}
	}()
	return <-done
}

type restoreError struct{ error }

func onThreadIn(nsPath string, f func() error) error {
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return err
	}
	defer self.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", nsPath, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		return restoreError{fmt.Errorf("setns back: %w", err)}
	}
	return ferr
}
