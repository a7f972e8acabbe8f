package userdata

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// template is the part of a HOT template userdata needs: its resources.
type template struct {
	Resources map[string]resource `yaml:"resources"`
}

type resource struct {
	Type       string         `yaml:"type"`
	Properties map[string]any `yaml:"properties"`
}

// Resolver answers the intrinsic functions a part's str_replace params
// use. Resolve gets the placeholder and the call, e.g. "$KUBE_NODE_IP" and
// {"get_attr": [kube_master_eth0, fixed_ips, 0, ip_address]}, and returns
// the value as Heat would resolve it (string, number, bool or nil).
type Resolver interface {
	Resolve(placeholder string, fn map[string]any) (any, error)
}

// parts evaluates the template's OS::Heat::MultipartMime resource: each
// part's SoftwareConfig, with get_file read from files (relative to the
// template) and str_replace applied as Heat does.
func parts(files fs.FS, name string, r Resolver) ([]string, error) {
	data, err := fs.ReadFile(files, name)
	if err != nil {
		return nil, err
	}
	var t template
	if err := yaml.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	e := &evaluator{files: files, dir: path.Dir(name), t: t, r: r, name: name}
	mime, err := e.multipart()
	if err != nil {
		return nil, err
	}
	list, _ := mime.Properties["parts"].([]any)
	out := make([]string, 0, len(list))
	for i, item := range list {
		m, _ := item.(map[string]any)
		ref, ok := m["config"].(map[string]any)
		if !ok || len(m) != 1 {
			return nil, fmt.Errorf("%s: part %d: want {config: {get_resource: NAME}}", name, i+1)
		}
		text, err := e.softwareConfig(ref)
		if err != nil {
			return nil, fmt.Errorf("%s: part %d: %w", name, i+1, err)
		}
		out = append(out, text)
	}
	return out, nil
}

type evaluator struct {
	files fs.FS
	dir   string
	name  string
	t     template
	r     Resolver
}

func (e *evaluator) multipart() (resource, error) {
	var found []string
	for n, res := range e.t.Resources {
		if res.Type == "OS::Heat::MultipartMime" {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return resource{}, fmt.Errorf("%s: want exactly one OS::Heat::MultipartMime resource, found %v", e.name, found)
	}
	return e.t.Resources[found[0]], nil
}

// softwareConfig resolves {get_resource: X} to X's config text.
func (e *evaluator) softwareConfig(ref map[string]any) (string, error) {
	name, ok := ref["get_resource"].(string)
	if !ok || len(ref) != 1 {
		return "", fmt.Errorf("config %v: want {get_resource: NAME}", ref)
	}
	res, ok := e.t.Resources[name]
	if !ok || res.Type != "OS::Heat::SoftwareConfig" {
		return "", fmt.Errorf("%s is not an OS::Heat::SoftwareConfig", name)
	}
	if g, _ := res.Properties["group"].(string); g != "ungrouped" {
		return "", fmt.Errorf("%s: group %q; only ungrouped configs are plain user-data", name, g)
	}
	return e.text(res.Properties["config"])
}

// text evaluates a config value: a literal, get_file or str_replace.
func (e *evaluator) text(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case map[string]any:
		if f, ok := v["get_file"].(string); ok && len(v) == 1 {
			b, err := fs.ReadFile(e.files, path.Join(e.dir, f))
			return string(b), err
		}
		if sr, ok := v["str_replace"].(map[string]any); ok && len(v) == 1 {
			return e.strReplace(sr)
		}
	}
	return "", fmt.Errorf("config %v: only a string, get_file or str_replace is supported", v)
}

func (e *evaluator) strReplace(sr map[string]any) (string, error) {
	tmpl, err := e.text(sr["template"])
	if err != nil {
		return "", err
	}
	raw, ok := sr["params"].(map[string]any)
	if !ok {
		return "", fmt.Errorf("str_replace: params must be a map")
	}
	params := make(map[string]string, len(raw))
	for placeholder, fn := range raw {
		call, ok := fn.(map[string]any)
		if !ok {
			params[placeholder], err = heatString(fn)
		} else {
			var v any
			if v, err = e.r.Resolve(placeholder, call); err == nil {
				params[placeholder], err = heatString(v)
			}
		}
		if err != nil {
			return "", fmt.Errorf("str_replace %s: %w", placeholder, err)
		}
	}
	return strReplace(tmpl, params), nil
}

// heatString is str_replace's conversion of a value (_validate_replacement):
// None is empty, booleans are Python's True/False, numbers decimal.
func heatString(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		if v {
			return "True", nil
		}
		return "False", nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("value %v (%T): str_replace takes strings, numbers and booleans", v, v)
}
