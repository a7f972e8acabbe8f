package main

import (
	"io"
	"mime"
	"mime/multipart"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/heatstrap/heatstrap/config"
)

// userdata turns each example into a MIME message whose first part writes
// the same heat-params (0600) and whose last part launches heatstrap.
func TestUserdataRendersTheExamples(t *testing.T) {
	for _, role := range []string{"master", "minion"} {
		path := "../../examples/" + role + ".heat-params"
		r := cli(t, "userdata", "--params", path)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", role, r.code, r.stderr)
		}
		header, body, _ := strings.Cut(r.stdout, "\n\n")
		_, ps, err := mime.ParseMediaType(strings.TrimPrefix(strings.SplitN(header, "\n", 2)[0], "Content-Type: "))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(strings.NewReader(body), ps["boundary"])
		var parts []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, string(b))
		}
		if len(parts) != 3 || !strings.Contains(parts[2], "heatstrap launch") {
			t.Fatalf("%s: %d parts", role, len(parts))
		}
		var cc struct {
			WriteFiles []struct{ Path, Permissions, Content string } `yaml:"write_files"`
		}
		if err := yaml.Unmarshal([]byte(parts[0]), &cc); err != nil || len(cc.WriteFiles) != 1 || cc.WriteFiles[0].Permissions != "0600" {
			t.Fatalf("%s: part 1: %v %+v", role, err, cc)
		}
		want, _ := os.ReadFile(path)
		in, _, _ := config.ReadHeatParams("in", want)
		out, _, err := config.ReadHeatParams("out", []byte(cc.WriteFiles[0].Content))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range out {
			got[e.Key] = e.Value
		}
		for _, e := range in {
			if got[e.Key] != e.Value {
				t.Errorf("%s: %s=%q in the user-data, %q in the file", role, e.Key, got[e.Key], e.Value)
			}
		}
	}
}

func TestUserdataRefusesInvalidParams(t *testing.T) {
	n := newNode(t, example(t, "master.heat-params", map[string]string{"KUBE_API_PORT": "x"}))
	r := cli(t, "userdata", "--params", n.root+"/etc/sysconfig/heat-params")
	if r.code != exitFailed || !strings.Contains(r.stderr, "KUBE_API_PORT") {
		t.Fatalf("%+v", r)
	}
}
