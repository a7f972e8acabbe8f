// Command heatstrap bootstraps a Kubernetes node of an OpenStack Magnum
// cluster from /etc/sysconfig/heat-params and reports to Heat.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes, shared by all commands.
const (
	exitOK     = 0
	exitFailed = 1 // a step or the parameters failed; status: failed
	exitUsage  = 2 // bad flags or agent config; status: running/incomplete
	exitLocked = 3 // another run holds the lock
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

func execute(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "heatstrap:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "heatstrap:", err)
	return exitUsage
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "heatstrap",
		Short: "Bootstrap a Kubernetes node of an OpenStack Magnum cluster and report to Heat",
		Long: `heatstrap turns /etc/sysconfig/heat-params into a configured Kubernetes master or
minion: ordered, named, idempotent steps, a ledger of their outcomes, and a Heat
wait-condition signal (SUCCESS when the node is ready, FAILURE with a reason the
moment a step fails). Rerun a failed step, see status, and re-report to Heat
with the same binary.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	a.bindGlobalFlags(root)
	root.AddCommand(
		a.runCmd(), a.launchCmd(), a.statusCmd(), a.stepsCmd(), a.planCmd(),
		a.validateCmd(), a.signalCmd(), a.versionCmd(), a.demoCmd(), a.helperCmd(),
		a.userdataCmd(),
	)
	return root
}
