package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/heatstrap/heatstrap/heat/heattest"
)

func TestCheckLoopback(t *testing.T) {
	cases := []struct {
		addr    string
		allowed bool
		ok      bool
	}{
		{"127.0.0.1:8004", false, true},
		{"[::1]:8004", false, true},
		{"localhost:0", false, true},
		{"0.0.0.0:8004", false, false},
		{":8004", false, false},
		{"10.0.0.1:8004", false, false},
		{"10.0.0.1:8004", true, true},
		{"no-port", false, false},
	}
	for _, tc := range cases {
		if err := checkLoopback(tc.addr, tc.allowed); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q, %v) = %v, want ok=%v", tc.addr, tc.allowed, err, tc.ok)
		}
	}
}

func TestWriteState(t *testing.T) {
	s := heattest.New(heattest.Options{PublicURL: "http://127.0.0.1:1"})
	defer s.Close()
	wc := s.CreateWaitCondition(heattest.WaitConditionSpec{})
	path := filepath.Join(t.TempDir(), "state.json")
	if err := writeState(path, wc.Snapshot()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"curl_cli": wc.CurlCLI(), "endpoint": wc.Endpoint(), "token": wc.Token(), "status": "IN_PROGRESS"} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	if _, ok := got["metadata"].(map[string]any); !ok {
		t.Errorf("metadata = %v, want an object", got["metadata"])
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
