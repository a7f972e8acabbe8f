package command_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/heatstrap/heatstrap/command"
)

// sh is only a test fixture for producing stderr and exit codes; the
// runner itself never goes through a shell.
func sh(script string) command.Cmd { return command.Cmd{Name: "sh", Args: []string{"-c", script}} }

var ctx = context.Background()

func TestRunSuccess(t *testing.T) {
	tests := []struct {
		name string
		cmd  command.Cmd
		want string
	}{
		{"stdout returned", command.Cmd{Name: "printf", Args: []string{"%s-%s", "a", "b"}}, "a-b"},
		{"stderr not mixed in", sh("echo out; echo err >&2"), "out\n"},
		{"stdin passed", command.Cmd{Name: "cat", Stdin: []byte("line1\nline2\n")}, "line1\nline2\n"},
		{"binary stdin", command.Cmd{Name: "cat", Stdin: []byte{0, 1, 2, 255}}, "\x00\x01\x02\xff"},
		{"nil stdin is empty, not the test's stdin", command.Cmd{Name: "cat"}, ""},
		// argv, not a shell: metacharacters arrive literally.
		{"no shell", command.Cmd{Name: "printf", Args: []string{"%s", "$HOME; echo pwned `id` > /x"}}, "$HOME; echo pwned `id` > /x"},
		{"argument with spaces stays one", command.Cmd{Name: "sh", Args: []string{"-c", `printf %s "$#"`, "sh", "a b c"}}, "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := command.Host{}.Run(ctx, tc.cmd)
			if err != nil || string(out) != tc.want {
				t.Fatalf("Run = %q, %v; want %q", out, err, tc.want)
			}
		})
	}
}

// A failing command is an *Error naming what ran, its exit status and
// the tail of its stderr; stdout is still returned.
func TestRunFailure(t *testing.T) {
	tests := []struct {
		name     string
		cmd      command.Cmd
		code     int
		stderr   string
		contains []string
		is       error
	}{
		{name: "exit 3", cmd: sh("echo partial; echo 'boom: disk full' >&2; exit 3"), code: 3, stderr: "boom: disk full",
			contains: []string{"sh -c", "exit status 3", "boom: disk full"}},
		{name: "stderr whitespace trimmed", cmd: sh("printf '\\n\\n  oops  \\n\\n' >&2; exit 1"), code: 1, stderr: "oops",
			contains: []string{"exit status 1: oops"}},
		{name: "silent failure", cmd: command.Cmd{Name: "false"}, code: 1, contains: []string{"false: exit status 1"}},
		{name: "killed by signal", cmd: sh("kill -9 $$"), code: -1, contains: []string{"signal: killed"}},
		{name: "not found", cmd: command.Cmd{Name: "heatstrap-no-such-program", Args: []string{"x"}}, code: -1,
			contains: []string{"heatstrap-no-such-program x", "not found"}, is: exec.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := command.Host{}.Run(ctx, tc.cmd)
			var ce *command.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %#v, want *command.Error", err)
			}
			if ce.ExitCode != tc.code || command.ExitCode(err) != tc.code {
				t.Errorf("ExitCode = %d / %d, want %d", ce.ExitCode, command.ExitCode(err), tc.code)
			}
			if ce.Stderr != tc.stderr {
				t.Errorf("Stderr = %q, want %q", ce.Stderr, tc.stderr)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Error() = %q, want it to contain %q", err, s)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
			if tc.name == "exit 3" && string(out) != "partial\n" {
				t.Errorf("stdout of a failed command = %q", out)
			}
		})
	}
}

func TestExitCodeHelper(t *testing.T) {
	wrapped := fmt.Errorf("step: %w", &command.Error{Cmd: "x", ExitCode: 42, Err: errors.New("exit status 42")})
	for _, tc := range []struct {
		err  error
		want int
	}{{nil, -1}, {errors.New("plain"), -1}, {wrapped, 42}} {
		if got := command.ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// The command's own deadline kills it promptly and says so.
func TestRunTimeout(t *testing.T) {
	start := time.Now()
	_, err := command.Host{}.Run(ctx, command.Cmd{Name: "sleep", Args: []string{"5"}, Timeout: 100 * time.Millisecond})
	if el := time.Since(start); el > time.Second {
		t.Errorf("returned after %v, want about 100ms", el)
	}
	if err == nil || !strings.Contains(err.Error(), "sleep 5: timed out after 100ms") {
		t.Fatalf("err = %v, want it to say it timed out after 100ms", err)
	}
	if command.ExitCode(err) != -1 {
		t.Errorf("ExitCode = %d, want -1", command.ExitCode(err))
	}
}

// When the caller's context ends first, the error says why it ended (its
// cause), not that the command's own 2-minute budget ran out.
func TestRunParentContext(t *testing.T) {
	stepCause := errors.New("step configure-kubelet: deadline of 5m reached")
	abort := errors.New("heatstrap: SIGTERM received")
	tests := []struct {
		name    string
		ctx     func() (context.Context, func())
		timeout time.Duration
		is      error
		want    string
	}{
		{"cancelled with cause", func() (context.Context, func()) {
			c, cancel := context.WithCancelCause(ctx)
			time.AfterFunc(50*time.Millisecond, func() { cancel(abort) })
			return c, func() { cancel(nil) }
		}, 0, abort, "SIGTERM received"},
		{"deadline with cause", func() (context.Context, func()) {
			return context.WithTimeoutCause(ctx, 50*time.Millisecond, stepCause)
		}, time.Minute, stepCause, "deadline of 5m reached"},
		{"plain deadline", func() (context.Context, func()) {
			return context.WithTimeout(ctx, 50*time.Millisecond)
		}, 0, context.DeadlineExceeded, "deadline exceeded"},
		{"plain cancel", func() (context.Context, func()) {
			c, cancel := context.WithCancel(ctx)
			time.AfterFunc(50*time.Millisecond, cancel)
			return c, cancel
		}, 0, context.Canceled, "canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			_, err := command.Host{}.Run(c, command.Cmd{Name: "sleep", Args: []string{"5"}, Timeout: tc.timeout})
			if el := time.Since(start); el > time.Second {
				t.Errorf("returned after %v", el)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want errors.Is %v and text %q", err, tc.is, tc.want)
			}
			if strings.Contains(err.Error(), "timed out after") {
				t.Errorf("err = %v blames the command's own timeout", err)
			}
		})
	}
}

// Very long stderr keeps only its tail (where the actual error is), cut
// on a character boundary so the message stays valid UTF-8.
func TestRunLongStderrTail(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "progress line %d\n", i)
	}
	b.WriteString("FATAL: the real reason\n")
	tests := []struct {
		name, stderr, wantEnd string
	}{
		{"ascii", b.String(), "FATAL: the real reason"},
		// 1000 two-byte runes and one byte: a byte-exact cut of the last
		// 600 bytes would start in the middle of a rune.
		{"utf8", strings.Repeat("é", 1000) + "x", "éx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := command.Host{}.Run(ctx, command.Cmd{Name: "sh", Args: []string{"-c", "cat >&2; exit 1"}, Stdin: []byte(tc.stderr)})
			var ce *command.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v", err)
			}
			if len(ce.Stderr) > 603 || len(ce.Stderr) < 590 {
				t.Errorf("len(Stderr) = %d, want about 600", len(ce.Stderr))
			}
			if !strings.HasPrefix(ce.Stderr, "...") || !strings.HasSuffix(ce.Stderr, tc.wantEnd) {
				t.Errorf("Stderr = %.40q...%q; want ...<tail> ending in %q", ce.Stderr, ce.Stderr[max(0, len(ce.Stderr)-30):], tc.wantEnd)
			}
			if !utf8.ValidString(ce.Stderr) || !utf8.ValidString(err.Error()) {
				t.Errorf("trimmed stderr is not valid UTF-8: %q", ce.Stderr[:10])
			}
			if strings.Contains(ce.Stderr, "progress line 0\n") {
				t.Error("the head of stderr was kept")
			}
		})
	}
}

// Offline mode runs nothing and says which command it refused.
func TestOffline(t *testing.T) {
	var r command.Runner = command.Offline{}
	out, err := r.Run(ctx, command.Cmd{Name: "systemctl", Args: []string{"restart", "kubelet"}})
	if out != nil {
		t.Errorf("stdout = %q", out)
	}
	if !errors.Is(err, command.ErrOffline) {
		t.Fatalf("err = %v, want ErrOffline", err)
	}
	if !strings.Contains(err.Error(), "systemctl restart kubelet") || !strings.Contains(err.Error(), "offline") {
		t.Errorf("err = %q should name the command and offline mode", err)
	}
	if command.ExitCode(err) != -1 {
		t.Errorf("ExitCode = %d", command.ExitCode(err))
	}
}

// Every run is logged at debug with the command line and the outcome.
func TestHostLogs(t *testing.T) {
	var buf bytes.Buffer
	h := command.Host{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	_, _ = h.Run(ctx, command.Cmd{Name: "true", Args: []string{"a"}})
	_, _ = h.Run(ctx, command.Cmd{Name: "false"})
	log := buf.String()
	for _, want := range []string{`cmd="true a"`, "ok=true", "cmd=false", "ok=false", "seconds="} {
		if !strings.Contains(log, want) {
			t.Errorf("log %q lacks %q", log, want)
		}
	}
}

func TestCmdString(t *testing.T) {
	for _, tc := range []struct {
		c    command.Cmd
		want string
	}{
		{command.Cmd{Name: "ls"}, "ls"},
		{command.Cmd{Name: "ip", Args: []string{"link", "show"}}, "ip link show"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
