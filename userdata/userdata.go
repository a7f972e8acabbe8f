// Package userdata renders the user-data heatstrap's Heat templates give a
// node: it evaluates templates/kube{master,minion}.yaml itself (the
// MultipartMime parts, get_file, str_replace with Heat's rules) and
// assembles the MIME message as Heat does. `heatstrap userdata` uses it for
// operators who boot nodes without Heat, and the VM test boots with it.
package userdata

import (
	"fmt"
	"slices"
	"strings"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/templates"
)

// TemplateFor names the role's template inside templates.FS.
func TemplateFor(role config.Role) (string, error) {
	switch role {
	case config.RoleMaster:
		return "kubemaster.yaml", nil
	case config.RoleMinion:
		return "kubeminion.yaml", nil
	}
	return "", fmt.Errorf("no template for role %q", role)
}

// Parts evaluates the role's user-data parts with r answering the
// template's get_param/get_attr/get_resource calls.
func Parts(role config.Role, r Resolver) ([]string, error) {
	name, err := TemplateFor(role)
	if err != nil {
		return nil, err
	}
	return parts(templates.FS, name, r)
}

// MIME assembles parts as OS::Heat::MultipartMime does.
func MIME(parts []string) []byte { return multipart(parts) }

// Render is the user-data of a node whose heat-params are entries: every
// "$KEY" placeholder gets that key's value, exactly the text Heat would
// have inserted. A key the template does not write is an error (it would
// be lost on the way), as is one that selects the other role.
func Render(role config.Role, entries []config.Entry) ([]byte, error) {
	r := &fromHeatParams{values: map[string]string{}, used: map[string]bool{}}
	for _, e := range entries {
		r.values[e.Key] = e.Value
	}
	ps, err := Parts(role, r)
	if err != nil {
		return nil, err
	}
	var lost []string
	for _, e := range entries {
		switch {
		case e.Key == string(config.NodeRole):
			if e.Value != "" && e.Value != string(role) {
				return nil, fmt.Errorf("NODE_ROLE=%q but rendering the %s template", e.Value, role)
			}
		case !r.used[e.Key]:
			lost = append(lost, e.Key)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		return nil, fmt.Errorf("the %s template does not write %s: a node booted with this user-data would not get them", role, strings.Join(lost, ", "))
	}
	return MIME(ps), nil
}

// fromHeatParams resolves "$KEY" to KEY's heat-params value.
type fromHeatParams struct {
	values map[string]string
	used   map[string]bool
}

func (f *fromHeatParams) Resolve(placeholder string, _ map[string]any) (any, error) {
	key, ok := strings.CutPrefix(placeholder, "$")
	if !ok {
		return nil, fmt.Errorf("placeholder %q is not of the form $KEY", placeholder)
	}
	f.used[key] = true
	return f.values[key], nil
}
