package helper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/heatstrap/heatstrap/hostfs"
)

// loadManifest reads one single-document YAML manifest and converts it to
// the JSON the apiserver takes. The conversion is sigs.k8s.io/yaml, the one
// kubectl uses, so values mean what they meant to Mitaka's `kubectl create`
// (a quoted "true" stays a string, 8080 a number). It also checks kind and
// namespace: the apiserver would refuse a mismatch anyway, but only after
// the wait, and less clearly.
func loadManifest(files *hostfs.FS, path, wantKind, namespace string) (manifest, error) {
	name := files.Display(path)
	data, err := files.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return manifest{}, fmt.Errorf("manifest %s does not exist; the kube-ui-service step writes it (run `heatstrap run` again and check that step)", name)
	} else if err != nil {
		return manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	if n, err := countDocuments(data); err != nil {
		return manifest{}, fmt.Errorf("manifest %s is not valid YAML: %v", name, err)
	} else if n != 1 {
		return manifest{}, fmt.Errorf("manifest %s holds %d YAML documents; want exactly one %s", name, n, wantKind)
	}
	// Strict: a duplicated key is an error, not "the last one wins".
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return manifest{}, fmt.Errorf("manifest %s: %v", name, err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return manifest{}, fmt.Errorf("manifest %s is not a Kubernetes object: %v", name, err)
	}
	switch {
	case head.Kind != wantKind:
		return manifest{}, fmt.Errorf("manifest %s has kind %q; want %s", name, head.Kind, wantKind)
	case head.APIVersion != "v1":
		return manifest{}, fmt.Errorf("manifest %s has apiVersion %q; want v1 (the helper posts to /api/v1)", name, head.APIVersion)
	case strings.TrimSpace(head.Metadata.Name) == "":
		return manifest{}, fmt.Errorf("manifest %s has no metadata.name", name)
	case head.Metadata.Namespace != "" && head.Metadata.Namespace != namespace:
		return manifest{}, fmt.Errorf("manifest %s is for namespace %q; it must be %s (or unset)", name, head.Metadata.Namespace, namespace)
	}
	return manifest{JSON: js, Kind: head.Kind, Name: head.Metadata.Name, Namespace: namespace, Source: name}, nil
}

// countDocuments counts the non-empty YAML documents: YAMLToJSON would
// silently use the first of several.
func countDocuments(data []byte) (int, error) {
	dec := yamlv3.NewDecoder(strings.NewReader(string(data)))
	n := 0
	for {
		var doc yamlv3.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if len(doc.Content) > 0 && !(doc.Content[0].Kind == yamlv3.ScalarNode && doc.Content[0].Tag == "!!null") {
			n++
		}
	}
}
