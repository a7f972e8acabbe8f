package userdata

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The renderer matches Python's email.mime (what Heat runs) byte for byte;
// testdata/heat_mime.py made the golden from the same parts.
func TestMIMEMatchesHeat(t *testing.T) {
	files, err := filepath.Glob("testdata/part-*.txt")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	var parts []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(b))
	}
	want, err := os.ReadFile("testdata/heat-mime.golden")
	if err != nil {
		t.Fatal(err)
	}
	got := multipartWith("===============0123456789012345678==", parts)
	if string(got) != string(want) {
		t.Errorf("MIME differs from Python's:\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// The boundary has Python's shape and depends only on the parts, so a
// rerun renders identical bytes and different parts a different boundary.
func TestBoundary(t *testing.T) {
	a, b := boundaryFor([]string{"x", "y"}), boundaryFor([]string{"xy"})
	if !regexp.MustCompile(`^={15}\d{19}==$`).MatchString(a) || a == b || a != boundaryFor([]string{"x", "y"}) {
		t.Fatalf("%q %q", a, b)
	}
}
