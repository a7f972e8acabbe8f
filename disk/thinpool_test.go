package disk

import (
	"strings"
	"testing"
)

func TestParseLVs(t *testing.T) {
	out := []byte(`  {
      "report": [
          {
              "lv": [
                  {"lv_name":"thinpool", "segtype":"thin-pool"}
              ]
          }
      ]
  }
`)
	lvs, err := ParseLVs(out)
	if err != nil || len(lvs) != 1 || lvs[0] != (LV{"thinpool", "thin-pool"}) {
		t.Errorf("%+v %v", lvs, err)
	}
	if _, err := ParseLVs([]byte("  WARNING: something\n")); err == nil {
		t.Error("garbage parsed")
	}
}

// A killed run resumes the recipe where it stopped; a finished pool
// needs nothing; someone else's LV is never touched.
func TestThinPoolSteps(t *testing.T) {
	names := func(lvs ...LV) string {
		cmds, err := ThinPoolSteps("docker", lvs)
		if err != nil {
			return "error: " + err.Error()
		}
		var s []string
		for _, c := range cmds {
			s = append(s, c.Name+" "+strings.Join(c.Args, " "))
		}
		return strings.Join(s, "; ")
	}
	const convert = "lvconvert -y --zero n -c 512K --thinpool docker/thinpool --poolmetadata docker/thinpoolmeta"
	for _, c := range []struct {
		name string
		lvs  []LV
		want string
	}{
		{"empty VG", nil, "lvcreate --wipesignatures y -n thinpool -l 95%VG docker; lvcreate --wipesignatures y -n thinpoolmeta -l 1%VG docker; " + convert},
		{"killed after the data LV", []LV{{"thinpool", "linear"}}, "lvcreate --wipesignatures y -n thinpoolmeta -l 1%VG docker; " + convert},
		{"killed before lvconvert", []LV{{"thinpool", "linear"}, {"thinpoolmeta", "linear"}}, convert},
		{"done", []LV{{"thinpool", "thin-pool"}}, ""},
		{"not ours", []LV{{"data", "linear"}}, `error: volume group docker holds logical volume "data", which heatstrap did not make; refusing to build the docker thin pool next to it (remove it, or the VG, to let heatstrap build it)`},
	} {
		if got := names(c.lvs...); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}
