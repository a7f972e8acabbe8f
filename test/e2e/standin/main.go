// Command standin plays the Kubernetes and flannel daemons that Debian does
// not package, inside the end-to-end test container. It does only what
// heatstrap's gates and helpers check, and says so in its output; etcd,
// systemd, D-Bus and docker in that container are the real ones.
//
// Installed under the daemon's name; argv[0] picks the role:
//
//	kube-apiserver  serves /healthz and accepts object creation (201, then 409),
//	                over HTTP and, with --secure-port and a certificate, HTTPS
//	kubelet         stays up
//	flanneld        writes /run/flannel/subnet.env and tells systemd it is ready
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

func main() {
	name := filepath.Base(os.Args[0])
	fmt.Fprintf(os.Stderr, "TEST STAND-IN for %s (heatstrap e2e); args: %v\n", name, os.Args[1:])
	var err error
	switch name {
	case "kube-apiserver":
		err = apiserver(os.Args[1:])
	case "flanneld":
		err = flanneld(os.Args[1:])
	default:
		wait()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func wait() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}

// apiserver listens where the flags heatstrap rendered say: the insecure
// port on the insecure bind address (127.0.0.1 when unset, as kube does),
// and, given a secure port and a certificate, HTTPS with it.
func apiserver(args []string) error {
	addr, port := "127.0.0.1", "8080"
	bind, secure, cert, key := "0.0.0.0", "", "", ""
	for _, a := range strings.Fields(strings.Join(args, " ")) {
		flag, v, _ := strings.Cut(a, "=")
		switch strings.ReplaceAll(flag, "_", "-") {
		case "--insecure-bind-address":
			addr = v
		case "--insecure-port":
			port = v
		case "--bind-address":
			bind = v
		case "--secure-port":
			secure = v
		case "--tls-cert-file":
			cert = v
		case "--tls-private-key-file":
			key = v
		}
	}
	var mu sync.Mutex
	created := map[string]bool{}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "stand-in accepts POST only", http.StatusMethodNotAllowed)
			return
		}
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &obj); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		key := r.URL.Path + "/" + obj.Metadata.Name
		mu.Lock()
		exists := created[key]
		created[key] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if exists {
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"AlreadyExists","code":409,"message":"%s %q already exists"}`, obj.Kind, obj.Metadata.Name)
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	})
	go func() { _, _ = daemon.SdNotify(false, daemon.SdNotifyReady) }()
	errs := make(chan error, 2)
	if secure != "" && cert != "" {
		go func() { errs <- http.ListenAndServeTLS(net.JoinHostPort(bind, secure), cert, key, mux) }()
	}
	go func() { errs <- http.ListenAndServe(net.JoinHostPort(addr, port), mux) }()
	return <-errs
}

// flanneld reads the network config heatstrap's flannel-config put into
// etcd (v3 gateway, like etcd 3.4 serves by default), takes the first
// subnet of it, writes the subnet file the real one would, then notifies.
func flanneld(args []string) error {
	endpoint, prefix := "http://127.0.0.1:2379", "/atomic.io/network"
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-etcd-endpoints="); ok {
			endpoint = strings.Split(v, ",")[0]
		}
		if v, ok := strings.CutPrefix(a, "-etcd-prefix="); ok {
			prefix = v
		}
	}
	netconf, err := readConfig(endpoint, prefix+"/config")
	if err != nil {
		return err
	}
	var cfg struct {
		Network   string
		SubnetLen int
	}
	if err := json.Unmarshal(netconf, &cfg); err != nil {
		return fmt.Errorf("flannel config %s: %w", netconf, err)
	}
	ip, _, err := net.ParseCIDR(cfg.Network)
	if err != nil || cfg.SubnetLen == 0 {
		return fmt.Errorf("flannel config %s: bad Network/SubnetLen", netconf)
	}
	v4 := ip.To4()
	subnet := fmt.Sprintf("%d.%d.%d.1/%d", v4[0], v4[1], v4[2]+63, cfg.SubnetLen)
	if err := os.MkdirAll("/run/flannel", 0o755); err != nil {
		return err
	}
	env := fmt.Sprintf("FLANNEL_NETWORK=%s\nFLANNEL_SUBNET=%s\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n", cfg.Network, subnet)
	if err := os.WriteFile("/run/flannel/subnet.env", []byte(env), 0o644); err != nil {
		return err
	}
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		return err
	}
	wait()
	return nil
}

// readConfig polls etcd's v3 JSON gateway for a key for up to a minute.
func readConfig(endpoint, key string) ([]byte, error) {
	body := fmt.Sprintf(`{"key":%q}`, base64.StdEncoding.EncodeToString([]byte(key)))
	var last error
	for i := 0; i < 120; i++ {
		resp, err := http.Post(endpoint+"/v3/kv/range", "application/json", strings.NewReader(body))
		if err == nil {
			var out struct {
				Kvs []struct{ Value string } `json:"kvs"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err == nil && len(out.Kvs) > 0 {
				return base64.StdEncoding.DecodeString(out.Kvs[0].Value)
			}
			if err == nil {
				err = fmt.Errorf("key %s not in etcd yet", key)
			}
		}
		last = err
		time.Sleep(500 * time.Millisecond)
	}
	return nil, fmt.Errorf("flannel config at %s%s: %w", endpoint, key, last)
}
