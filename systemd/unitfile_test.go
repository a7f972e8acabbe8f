package systemd

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/hostfs"
)

var flannelOpts = []*unit.UnitOption{
	Opt("Unit", "Description", "Flannel config"),
	Opt("Unit", "After", "etcd.service"),
	Opt("Service", "Type", "oneshot"),
	Opt("Service", "Environment", `"A=b c" D=e`),
	Opt("Service", "ExecStart", "/usr/local/bin/flannel-config --etcd ${ETCD}"),
	Opt("Service", "ExecStart", ""),
	Opt("Install", "WantedBy", "multi-user.target"),
	Opt("Unit", "Wants", "etcd.service"), // regrouped into [Unit] by Serialize
}

func TestWriteUnitRoundTrip(t *testing.T) {
	files := hostfs.New(t.TempDir())
	changed, err := WriteUnit(files, nil, "flannel-config.service", flannelOpts)
	if err != nil || !changed {
		t.Fatalf("WriteUnit: changed=%v err=%v", changed, err)
	}
	data, err := files.ReadFile(UnitDir + "/flannel-config.service")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(unit.Serialize(flannelOpts))
	if !bytes.Equal(data, want) {
		t.Errorf("file is not unit.Serialize's text:\n%s\nwant:\n%s", data, want)
	}
	got, err := ReadUnit(files, UnitDir+"/flannel-config.service")
	if err != nil {
		t.Fatal(err)
	}
	// Serialize groups by section in first-seen order; compare that way.
	var grouped []*unit.UnitOption
	for _, sec := range []string{"Unit", "Service", "Install"} {
		for _, o := range flannelOpts {
			if o.Section == sec {
				grouped = append(grouped, o)
			}
		}
	}
	if !unit.AllMatch(got, grouped) {
		t.Errorf("read back %v, want %v", got, grouped)
	}
	st, err := files.Lstat(UnitDir + "/flannel-config.service")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode())
	}
}

func TestWriteUnitIdempotent(t *testing.T) {
	files := hostfs.New(t.TempDir())
	backend := NewOffline(files)
	m := backend.For(files, "units")
	if _, err := WriteUnit(files, m, "x.service", flannelOpts); err != nil {
		t.Fatal(err)
	}
	before, err := files.Lstat(UnitDir + "/x.service")
	if err != nil {
		t.Fatal(err)
	}
	_ = backend.Flush(t.Context())
	changed, err := WriteUnit(files, m, "x.service", flannelOpts)
	if err != nil || changed {
		t.Fatalf("second WriteUnit: changed=%v err=%v", changed, err)
	}
	after, _ := files.Lstat(UnitDir + "/x.service")
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("mtime moved from %v to %v", before.ModTime(), after.ModTime())
	}
	_ = backend.Flush(t.Context())
	if n := countVerb(backend.Actions(), "daemon-reload"); n != 1 {
		t.Errorf("%d daemon-reloads, want 1 (the unchanged write must not ask for one)", n)
	}
}

func TestDropIns(t *testing.T) {
	files := hostfs.New(t.TempDir())
	opts := []*unit.UnitOption{Opt("Service", "Environment", "HTTP_PROXY=http://proxy:3128")}
	p := UnitDir + "/docker.service.d/proxy.conf"
	if c, err := WriteDropIn(files, nil, "docker.service", "proxy.conf", opts); err != nil || !c {
		t.Fatalf("WriteDropIn: changed=%v err=%v", c, err)
	}
	if c, err := WriteDropIn(files, nil, "docker.service", "proxy.conf", opts); err != nil || c {
		t.Fatalf("second WriteDropIn: changed=%v err=%v", c, err)
	}
	if got, _ := files.ReadFile(p); string(got) != "[Service]\nEnvironment=HTTP_PROXY=http://proxy:3128\n" {
		t.Errorf("drop-in content %q", got)
	}
	if c, err := RemoveDropIn(files, nil, "docker.service", "proxy.conf"); err != nil || !c {
		t.Fatalf("RemoveDropIn: changed=%v err=%v", c, err)
	}
	if files.Exists(UnitDir + "/docker.service.d") {
		t.Error("empty docker.service.d left behind")
	}
	if c, err := RemoveDropIn(files, nil, "docker.service", "proxy.conf"); err != nil || c {
		t.Fatalf("second RemoveDropIn: changed=%v err=%v", c, err)
	}
	for _, bad := range []string{"proxy", "a/b.conf", ".hidden.conf", ".conf"} {
		if _, err := WriteDropIn(files, nil, "docker.service", bad, opts); err == nil {
			t.Errorf("drop-in name %q accepted", bad)
		}
	}
}

func TestWriteUnitRefuses(t *testing.T) {
	files := hostfs.New(t.TempDir())
	ok := []*unit.UnitOption{Opt("Service", "ExecStart", "/bin/true")}
	for _, name := range []string{"", "x", "x.conf", "../x.service", "a/b.service", "x.device", "@x.service", "x y.service"} {
		if _, err := WriteUnit(files, nil, name, ok); err == nil {
			t.Errorf("unit name %q accepted", name)
		}
	}
	for _, o := range []*unit.UnitOption{
		nil,
		Opt("Service", "ExecStart", "/bin/true\n[Service]\nExecStartPre=/bin/evil"),
		Opt("Service", "ExecStart", `/bin/true \`),
		Opt("Service", "ExecStart", " /bin/true"),
		Opt("Service", "Exec Start", "/bin/true"),
		Opt("Service", "", "x"),
		Opt("Serv]ice", "ExecStart", "/bin/true"),
	} {
		if _, err := WriteUnit(files, nil, "x.service", []*unit.UnitOption{o}); err == nil {
			t.Errorf("option %v accepted", o)
		}
	}
	if _, err := WriteUnit(files, nil, "x.service", nil); err == nil {
		t.Error("an empty unit (= masked) accepted")
	}
	if files.Exists(UnitDir + "/x.service") {
		t.Error("a refused unit was written")
	}
}

func TestFindUnit(t *testing.T) {
	root := t.TempDir()
	tree{
		usrLib + "a.service":        svc(""),
		lib + "a.service":           svc(""),
		etc + "b.service":           svc(""),
		usrLib + "b.service":        svc(""),
		usrLib + "t@.service":       svc(""),
		usrLib + "dangling.service": "-> nowhere.service",
	}.build(t, root)
	files := hostfs.New(root)
	for name, want := range map[string]string{
		"a.service":        lib + "a.service",
		"b.service":        etc + "b.service",
		"t@x.service":      usrLib + "t@.service",
		"dangling.service": usrLib + "dangling.service",
	} {
		if got, err := FindUnit(files, name); err != nil || got != want {
			t.Errorf("FindUnit(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	_, err := FindUnit(files, "etcd.service")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing unit: %v, want fs.ErrNotExist", err)
	}
	for _, want := range []string{"etcd.service", root, "/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system", "/usr/local/lib/systemd/system"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func countVerb(actions []Action, verb string) int {
	n := 0
	for _, a := range actions {
		if a.Verb == verb {
			n++
		}
	}
	return n
}
