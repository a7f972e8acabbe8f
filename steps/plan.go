package steps

import (
	"fmt"
	"strings"

	"github.com/heatstrap/heatstrap/config"
)

// Plan returns the ordered steps of a role.
func Plan(role config.Role) ([]Step, error) {
	switch role {
	case config.RoleMaster:
		return Master, nil
	case config.RoleMinion:
		return Minion, nil
	}
	return nil, fmt.Errorf("no plan for role %q (master or minion)", role)
}

// Names returns the step names of a plan, in order.
func Names(plan []Step) []string {
	names := make([]string, len(plan))
	for i, s := range plan {
		names[i] = s.Name
	}
	return names
}

// AllNames returns every step name of both plans, each once, master first.
func AllNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, plan := range [][]Step{Master, Minion} {
		for _, s := range plan {
			if !seen[s.Name] {
				seen[s.Name] = true
				names = append(names, s.Name)
			}
		}
	}
	return names
}

// CheckNames validates step names given on the command line.
func CheckNames(names []string) error {
	valid := AllNames()
	for _, n := range names {
		found := false
		for _, v := range valid {
			found = found || v == n
		}
		if !found {
			return fmt.Errorf("unknown step %q; valid steps: %s", n, strings.Join(valid, ", "))
		}
	}
	return nil
}
