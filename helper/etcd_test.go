package helper

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
)

// These tests run a real etcd (go.etcd.io/etcd/server/v3 v3.7.3, embedded)
// on loopback: the v3 JSON gateway the helper talks to is etcd's own.

const networkJSON = `{
  "Network": "10.100.0.0/16",
  "Subnetlen": 24,
  "Backend": {
    "Type": "vxlan"
  }
}
`

func startEtcd(t *testing.T, clientPort, peerPort int) *embed.Etcd {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true // test speed; nothing here survives the test
	cu, _ := url.Parse(loopbackURL(clientPort))
	pu, _ := url.Parse(loopbackURL(peerPort))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		t.Fatal("embedded etcd not ready within 60s")
	}
	return e
}

// etcdValue reads a key through an in-process clientv3 (independent of the
// gateway code under test).
func etcdValue(t *testing.T, e *embed.Etcd, key string) (string, int64) {
	t.Helper()
	cli := v3client.New(e.Server)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("key %s: %d values, want 1", key, len(resp.Kvs))
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].Version
}

func sameJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("stored value is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("stored JSON\n%s\nwant\n%s", got, want)
	}
}

func flannelOpts(t *testing.T, endpoints ...string) FlannelConfigOptions {
	files, root := newRoot(t)
	put(t, root, DefaultFlannelNetworkFile, networkJSON)
	log, _ := testLogger(t)
	return FlannelConfigOptions{Files: files, Endpoints: endpoints, Timeout: 30 * time.Second, Log: log}
}

func TestFlannelConfigV3RealEtcd(t *testing.T) {
	t.Parallel()
	cp, pp := freePort(t), freePort(t)
	e := startEtcd(t, cp, pp)
	o := flannelOpts(t, loopbackURL(cp))
	o.Prefix = "/coreos.com/network/" // trailing slash tolerated

	if err := FlannelConfig(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	got, v1 := etcdValue(t, e, "/coreos.com/network/config")
	if got != networkJSON {
		t.Errorf("stored value is not the file's bytes:\n%q\nwant\n%q", got, networkJSON)
	}
	sameJSON(t, got, networkJSON)

	// Every master re-puts at every boot: same value, still success.
	if err := FlannelConfig(context.Background(), o); err != nil {
		t.Fatalf("second put: %v", err)
	}
	got2, v2 := etcdValue(t, e, "/coreos.com/network/config")
	if got2 != got || v2 != v1+1 {
		t.Errorf("after re-put: value %q version %d, want unchanged value and version %d", got2, v2, v1+1)
	}
}

func TestFlannelConfigWaitsForEtcd(t *testing.T) {
	t.Parallel()
	cp, pp := freePort(t), freePort(t)
	o := flannelOpts(t, loopbackURL(cp))
	o.Timeout = time.Minute
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- FlannelConfig(context.Background(), o) }()

	time.Sleep(2 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("FlannelConfig returned before etcd was started: %v", err)
	default:
	}
	e := startEtcd(t, cp, pp)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("FlannelConfig did not finish within 45s of etcd starting")
	}
	t.Logf("put succeeded %s after start (etcd started at 2s)", time.Since(start).Round(time.Millisecond))
	got, _ := etcdValue(t, e, DefaultFlannelPrefix+"/config")
	sameJSON(t, got, networkJSON)
}

func TestFlannelConfigEtcdNeverUp(t *testing.T) {
	t.Parallel()
	ep := loopbackURL(freePort(t))
	o := flannelOpts(t, ep)
	o.Timeout = 2 * time.Second
	start := time.Now()
	err := FlannelConfig(context.Background(), o)
	took := time.Since(start)
	mustContain(t, err, "etcd at "+ep+" did not accept the flannel config within 2s", "connection refused", "systemctl status etcd")
	if took < o.Timeout || took > o.Timeout+1500*time.Millisecond {
		t.Errorf("returned after %s, want within [%s, %s]", took, o.Timeout, o.Timeout+1500*time.Millisecond)
	}
}

// etcd 3.7 has no v2 API at all (the embed Config has no EnableV2; the
// V2Deprecation field is inert). The helper must say so at once instead
// of waiting out the deadline.
func TestFlannelConfigV2AgainstEtcd37FailsFast(t *testing.T) {
	t.Parallel()
	cp, pp := freePort(t), freePort(t)
	startEtcd(t, cp, pp)
	o := flannelOpts(t, loopbackURL(cp))
	o.API = "v2"
	start := time.Now()
	err := FlannelConfig(context.Background(), o)
	mustContain(t, err, "refused the flannel config", "HTTP 404", "does not serve the v2 keys API", "--etcd-api v3")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s; a 404 must not be retried until the deadline", took)
	}
}
