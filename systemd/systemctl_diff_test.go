package systemd

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/internal/testenv"
)

const systemctlPath = "/usr/bin/systemctl"

// diffCases run both through the real `systemctl --root` and through
// Offline, on identical trees; the resulting symlinks and directories
// must be identical, and so must success or failure.
var diffCases = []struct {
	name    string
	tree    tree
	enable  []string
	disable []string // defaults to enable
}{
	{name: "WantedBy multi-user", enable: []string{"etcd.service"},
		tree: tree{usrLib + "etcd.service": svc("WantedBy=multi-user.target")}},
	{name: "RequiredBy docker", enable: []string{"flannel.service"},
		tree: tree{usrLib + "flannel.service": svc("RequiredBy=docker.service")}},
	{name: "several WantedBy", enable: []string{"x.service"},
		tree: tree{usrLib + "x.service": svc("WantedBy=a.target b.target\nWantedBy=c.target\nRequiredBy=d.target e.service")}},
	{name: "Alias", enable: []string{"etcd.service"},
		tree: tree{usrLib + "etcd.service": svc("WantedBy=multi-user.target\nAlias=etcd2.service etcd3.service")}},
	{name: "Also with cycle and missing unit", enable: []string{"a.service"},
		tree: tree{
			usrLib + "a.service":      svc("Also=b.service"),
			usrLib + "b.service":      svc("WantedBy=b.target\nAlso=c.service a.service missing.service masked.service"),
			usrLib + "masked.service": svc("WantedBy=masked.target"),
			etc + "masked.service":    "-> /dev/null",
			usrLib + "c.service":      svc("RequiredBy=c.target\nAlias=c2.service"),
		}},
	{name: "no Install section", enable: []string{"static.service"},
		tree: tree{usrLib + "static.service": svc("")}},
	{name: "unit in /etc", enable: []string{"flannel-config.service"},
		tree: tree{etc + "flannel-config.service": svc("WantedBy=multi-user.target")}},
	{name: "/etc overrides /usr/lib", enable: []string{"x.service"},
		tree: tree{usrLib + "x.service": svc("WantedBy=a.target"), etc + "x.service": svc("WantedBy=b.target")}},
	{name: "search order /usr/local, /lib, /usr/lib", enable: []string{"x.service", "y.service", "z.service"},
		tree: tree{
			usrLib + "x.service": svc("WantedBy=a.target"), lib + "x.service": svc("WantedBy=a.target"),
			lib + "y.service": svc("WantedBy=a.target"), "/usr/local/lib/systemd/system/y.service": svc("WantedBy=a.target"),
			usrLib + "z.service": svc("WantedBy=a.target"),
		}},
	{name: "merged /usr", enable: []string{"etcd.service"},
		tree: tree{"/lib": "-> usr/lib", usrLib + "etcd.service": svc("WantedBy=multi-user.target")}},
	{name: "Install only in a drop-in", enable: []string{"docker.service"},
		tree: tree{
			usrLib + "docker.service":                 svc(""),
			etc + "docker.service.d/10-install.conf":  "[Install]\nWantedBy=multi-user.target\n",
			etc + "docker.service.d/proxy.conf":       "[Service]\nEnvironment=A=b\n",
			etc + "docker.service.d/ignored.notconf":  "[Install]\nWantedBy=ignored.target\n",
			etc + "service.d/typewide.conf":           "[Install]\nWantedBy=typewide.target\n",
			etc + "docker-.service.d/prefix.conf":     "[Install]\nWantedBy=prefix.target\n",
			usrLib + "docker.service.d/05-first.conf": "[Install]\nRequiredBy=first.target\n",
		}},
	{name: "drop-in override and reset", enable: []string{"x.service"},
		tree: tree{
			usrLib + "x.service":              svc("WantedBy=a.target\nAlias=x2.service"),
			usrLib + "x.service.d/10-b.conf":  "[Install]\nWantedBy=b.target\n",
			usrLib + "x.service.d/20-c.conf":  "[Install]\nWantedBy=c.target\n",
			etc + "x.service.d/20-c.conf":     "[Install]\nWantedBy=d.target\n",
			etc + "x.service.d/30-reset.conf": "[Install]\nAlias=\nWantedBy=\nWantedBy=e.target\n",
		}},
	{name: "existing links: replaced, kept, conflicting", enable: []string{"c.service"},
		tree: tree{
			"/lib":                               "-> usr/lib",
			usrLib + "c.service":                 svc("WantedBy=a.target b.target d.target\nRequiredBy=r.service\nAlias=al.service al2.service al3.service"),
			usrLib + "other.service":             svc(""),
			etc + "a.target.wants/c.service":     "-> /usr/lib/systemd/system/other.service",
			etc + "b.target.wants/c.service":     "file",
			etc + "r.service.requires/c.service": "-> ../../../usr/lib/systemd/system/c.service",
			etc + "al.service":                   "-> /usr/lib/systemd/system/other.service",
			etc + "al2.service":                  "-> /usr/lib/systemd/system/c.service",
			etc + "al3.service":                  "regular file",
		}},
	{name: "linked unit outside the search path", enable: []string{"b.service"},
		tree: tree{"/opt/b/b.service": svc("WantedBy=b.target"), etc + "b.service": "-> /opt/b/b.service"}},
	{name: "vendor alias", enable: []string{"va.service"},
		tree: tree{usrLib + "real.service": svc("WantedBy=r.target"), usrLib + "va.service": "-> real.service"}},
	{name: "alias in /etc refused", enable: []string{"al.service"},
		tree: tree{usrLib + "real.service": svc("WantedBy=r.target"), etc + "al.service": "-> /usr/lib/systemd/system/real.service"}},
	{name: "masked by /dev/null", enable: []string{"m.service"},
		tree: tree{usrLib + "m.service": svc("WantedBy=m.target"), etc + "m.service": "-> /dev/null"}},
	{name: "masked by empty file", enable: []string{"m.service"},
		tree: tree{usrLib + "m.service": ""}},
	{name: "missing unit", enable: []string{"missing.service"},
		tree: tree{etc + "x.target.wants/missing.service": "-> /usr/lib/systemd/system/missing.service"}},
	{name: "one missing unit stops all", enable: []string{"ok.service", "missing.service"},
		tree: tree{usrLib + "ok.service": svc("WantedBy=a.target")}},
	{name: "invalid WantedBy and wrong Alias type", enable: []string{"x.service"},
		tree: tree{usrLib + "x.service": svc("WantedBy=a.target bad/name\nAlias=x.socket")}},
	{name: "UpheldBy is not an install key in 252", enable: []string{"x.service"},
		tree: tree{usrLib + "x.service": svc("UpheldBy=u.target\nWantedBy=w.target")}},
	{name: "template with DefaultInstance", enable: []string{"g@.service", "g@tty5.service"},
		tree: tree{usrLib + "g@.service": svc("WantedBy=multi-user.target getty@.target\nDefaultInstance=tty1\nAlias=gg@.service")}},
	{name: "template without DefaultInstance", enable: []string{"n@.service"},
		tree: tree{usrLib + "n@.service": svc("WantedBy=multi-user.target")}},
	{name: "instance with specifiers and drop-ins", enable: []string{"s@q.service"}, disable: []string{"s@.service"},
		tree: tree{
			usrLib + "s@.service":                 svc("WantedBy=x-%i.target y-%n.target z-%p.target\nAlias=t@.service"),
			usrLib + "s@.service.d/a.conf":        "[Install]\nWantedBy=tmpl.target\n",
			usrLib + "s@q.service.d/b.conf":       "[Install]\nWantedBy=inst.target\n",
			etc + "keep.target.wants/s@r.service": "-> /usr/lib/systemd/system/s@.service",
		}},
	{name: "disable removes every link to the unit", enable: []string{"etcd.service"},
		tree: tree{
			usrLib + "etcd.service":                       svc("WantedBy=multi-user.target\nAlias=etcd2.service\nAlso=helper.service"),
			usrLib + "helper.service":                     svc("RequiredBy=docker.service"),
			usrLib + "other.service":                      svc(""),
			etc + "multi-user.target.wants/other.service": "-> /usr/lib/systemd/system/other.service",
			etc + "foo.target.wants/etcd.service":         "-> /usr/lib/systemd/system/etcd.service",
			etc + "bar.target.wants/renamed.service":      "-> /usr/lib/systemd/system/etcd.service",
			etc + "keep.target.wants/dangling.service":    "-> /nowhere/etcd.service",
			etc + "keep.target.wants/notaunit":            "-> /usr/lib/systemd/system/etcd.service",
			etc + "keep.target.wants/other.service":       "-> /usr/lib/systemd/system/other.service",
			etc + "empty.target.wants":                    "dir:",
			etc + "deep/a/b/etcd.service":                 "-> /usr/lib/systemd/system/etcd.service",
		}},
	{name: "disable a missing unit sweeps its name", enable: []string{}, disable: []string{"missing.service"},
		tree: tree{etc + "y.target.wants/missing.service": "-> /usr/lib/systemd/system/static.service", usrLib + "static.service": svc("")}},
}

func TestMatchesSystemctl(t *testing.T) {
	if _, err := os.Stat(systemctlPath); err != nil {
		testenv.Unavailable(t, "no %s to compare with (apt-get install systemd): %v", systemctlPath, err)
	}
	for _, tc := range diffCases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := t.TempDir(), t.TempDir()
			tc.tree.build(t, a)
			tc.tree.build(t, b)
			files := hostfs.New(b)
			m := NewOffline(files).For(files, "test")
			ctx := context.Background()

			steps := []struct {
				verb  string
				units []string
				ours  func(context.Context, ...string) (bool, error)
			}{{"enable", tc.enable, m.Enable}, {"disable", tc.disable, m.Disable}}
			if steps[1].units == nil {
				steps[1].units = tc.enable
			}
			for _, s := range steps {
				if len(s.units) == 0 {
					continue
				}
				before := links(t, b)
				out, sysErr := exec.Command(systemctlPath, append([]string{"--root=" + a, s.verb}, s.units...)...).CombinedOutput()
				changed, ourErr := s.ours(ctx, s.units...)
				t.Logf("systemctl %s %v: err=%v\n%s", s.verb, s.units, sysErr, out)
				t.Logf("offline: changed=%v err=%v", changed, ourErr)
				var exit *exec.ExitError
				if sysErr != nil && !errors.As(sysErr, &exit) {
					t.Fatal(sysErr)
				}
				if (sysErr == nil) != (ourErr == nil) {
					t.Errorf("%s: systemctl err=%v, ours=%v", s.verb, sysErr, ourErr)
				}
				want, got := links(t, a), links(t, b)
				for _, p := range slices.Sorted(maps.Keys(want)) {
					if got[p] != want[p] {
						t.Errorf("%s: %s: systemctl %q, ours %q", s.verb, p, want[p], got[p])
					}
				}
				for _, p := range slices.Sorted(maps.Keys(got)) {
					if _, ok := want[p]; !ok {
						t.Errorf("%s: %s: ours %q, systemctl has nothing", s.verb, p, got[p])
					}
				}
				if changed != !maps.Equal(before, got) {
					t.Errorf("%s: changed=%v but the tree did change: %v", s.verb, changed, !maps.Equal(before, got))
				}
			}
		})
	}
}
