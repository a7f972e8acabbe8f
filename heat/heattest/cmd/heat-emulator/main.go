// Command heat-emulator runs the heattest Heat/Keystone emulator as a
// process, so end-to-end tests can start it inside a network namespace and
// point an agent at it. It creates one WaitCondition and keeps a JSON state
// file (curl_cli, endpoint, token, status, reason, metadata, ...) up to date
// on every change.
//
//	heat-emulator -listen 127.0.0.1:8004 -stack k8s-abc-kube_masters-xyz-0-def \
//	    -handle master_wait_handle -timeout 10m -count 1 -state-file /tmp/heat.json
//
// It listens on loopback unless -allow-non-loopback is given.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/heatstrap/heatstrap/heat/heattest"
)

func main() {
	var (
		listen       = flag.String("listen", "127.0.0.1:8004", "address to listen on")
		nonLoopback  = flag.Bool("allow-non-loopback", false, "permit a -listen address that is not loopback")
		publicURL    = flag.String("public-url", "", "base URL written into endpoint/curl_cli (default http://<listen address>)")
		stackName    = flag.String("stack", "stack", "stack name")
		handleName   = flag.String("handle", "master_wait_handle", "wait condition handle name")
		wcName       = flag.String("wc", "master_wait_condition", "wait condition name")
		resourcePath = flag.String("resource-path", "", `nested path of the stack, e.g. "kube_masters.resources[0]"`)
		timeout      = flag.Duration("timeout", 6000*time.Second, "wait condition timeout")
		count        = flag.Int("count", 1, "signals required")
		insecure     = flag.Bool("insecure", false, `curl_cli gets "--insecure "`)
		tokenTTL     = flag.Duration("token-ttl", 3600*time.Second, "keystone token lifetime")
		signalDelay  = flag.Duration("signal-delay", 0, "delay before an accepted signal is applied")
		stateFile    = flag.String("state-file", "", "JSON state file, rewritten on every change")
	)
	flag.Parse()
	if err := run(config{
		listen: *listen, nonLoopback: *nonLoopback, publicURL: *publicURL, stateFile: *stateFile,
		opts: heattest.Options{TokenTTL: *tokenTTL, SignalDelay: *signalDelay},
		spec: heattest.WaitConditionSpec{
			StackName: *stackName, HandleName: *handleName, WCName: *wcName, Count: *count,
			Timeout: *timeout, Insecure: *insecure, ResourcePath: *resourcePath,
		},
	}); err != nil {
		log.Fatal(err)
	}
}

type config struct {
	listen, publicURL, stateFile string
	nonLoopback                  bool
	opts                         heattest.Options
	spec                         heattest.WaitConditionSpec
}

func run(c config) error {
	if err := checkLoopback(c.listen, c.nonLoopback); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	if c.publicURL == "" {
		c.publicURL = "http://" + ln.Addr().String()
	}
	// OnChange may run while the emulator evaluates a snapshot, so it only
	// pokes the writer goroutine instead of writing itself.
	dirty := make(chan struct{}, 1)
	c.opts.PublicURL = c.publicURL
	c.opts.Logf = log.Printf
	c.opts.OnChange = func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	s := heattest.New(c.opts)
	defer s.Close()
	wc := s.CreateWaitCondition(c.spec)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.stateFile != "" {
		if err := writeState(c.stateFile, wc.Snapshot()); err != nil {
			return err
		}
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-dirty:
					if err := writeState(c.stateFile, wc.Snapshot()); err != nil {
						log.Printf("state file: %v", err)
					}
				}
			}
		}()
	}

	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("heat-emulator serving %s (stack %s, handle %s)", c.publicURL, c.spec.StackName, c.spec.HandleName)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkLoopback refuses to expose the emulator (it hands out credentials
// on /test routes) unless explicitly asked to.
func checkLoopback(addr string, allowed bool) error {
	if allowed {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-listen %s is not a loopback address; pass -allow-non-loopback to use it", addr)
}

// writeState replaces the file atomically so readers never see half a document.
func writeState(path string, snap heattest.Snapshot) error {
	data, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".heat-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
