// Package command runs host programs for steps: argv only (never a shell),
// always under a deadline, output captured and put into the error, so a
// failure says what ran and what it printed.
package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"
)

// Cmd is one program invocation.
type Cmd struct {
	Name  string
	Args  []string
	Stdin []byte
	// Timeout bounds this command inside the step's own deadline (0 = 2 min).
	Timeout time.Duration
}

func (c Cmd) String() string { return strings.Join(append([]string{c.Name}, c.Args...), " ") }

// Runner runs commands. Steps get one through their Env.
type Runner interface {
	Run(ctx context.Context, c Cmd) (stdout []byte, err error)
}

// Error is a command that failed to start, failed, or ran out of time.
type Error struct {
	Cmd      string
	ExitCode int // -1 when it did not exit normally
	Stderr   string
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Cmd, e.Err)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns the exit status of a command Error in err's chain, or -1.
func ExitCode(err error) int {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.ExitCode
	}
	return -1
}

const defaultTimeout = 2 * time.Minute

// maxStderr keeps error messages readable; the tail has the actual error.
const maxStderr = 600

// Host runs commands on the live system.
type Host struct{ Log *slog.Logger }

// Run implements Runner.
func (h Host) Run(ctx context.Context, c Cmd) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	start := time.Now()
	err := cmd.Run()
	if h.Log != nil {
		h.Log.Debug("command", "cmd", c.String(), "seconds", time.Since(start).Round(time.Millisecond).Seconds(), "ok", err == nil)
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	ce := &Error{Cmd: c.String(), ExitCode: -1, Stderr: tail(stderr.String()), Err: err}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ce.ExitCode = ee.ExitCode()
	}
	switch {
	case parent.Err() != nil:
		// The caller's context ended (step deadline, shutdown): say why,
		// not that this command's own budget ran out.
		ce.Err = context.Cause(parent)
	case ctx.Err() != nil:
		ce.Err = fmt.Errorf("timed out after %s", timeout)
	}
	return stdout.Bytes(), ce
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxStderr {
		cut := len(s) - maxStderr
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++ // do not start in the middle of a character
		}
		s = "..." + s[cut:]
	}
	return s
}

// ErrOffline is returned for every command in offline (--root) mode.
var ErrOffline = errors.New("not run: offline mode (--root) changes files only")

// Offline refuses to run anything: an image tree has no running kernel,
// udev or systemd to talk to. Steps check Env.Live before needing commands.
type Offline struct{}

// Run implements Runner.
func (Offline) Run(_ context.Context, c Cmd) ([]byte, error) {
	return nil, &Error{Cmd: c.String(), ExitCode: -1, Err: ErrOffline}
}
