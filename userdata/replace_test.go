package userdata

import "testing"

func TestStrReplaceIsHeats(t *testing.T) {
	tests := []struct {
		name, tmpl string
		params     map[string]string
		want       string
	}{
		{"plain", `A="$A" B="$B"`, map[string]string{"$A": "1", "$B": "2"}, `A="1" B="2"`},
		// $DOCKER_VOLUME is a prefix of $DOCKER_VOLUME_SIZE: longest first.
		{"longest first", "$DOCKER_VOLUME $DOCKER_VOLUME_SIZE", map[string]string{"$DOCKER_VOLUME": "vol", "$DOCKER_VOLUME_SIZE": "25"}, "vol 25"},
		// An inserted value is never scanned again (newer Heat's split/join).
		{"no rescan", "$A|$B", map[string]string{"$A": "$B", "$B": "b"}, "$B|b"},
		{"no rescan, shorter first", "$AA|$B", map[string]string{"$AA": "$B", "$B": "x"}, "$B|x"},
		// Equal length: the lexicographically smaller placeholder wins.
		{"tie", "abc", map[string]string{"ab": "1", "bc": "2"}, "1c"},
		{"absent placeholder", "nothing", map[string]string{"$A": "1"}, "nothing"},
		{"shell text stays text", `X="$X"`, map[string]string{"$X": "$(reboot) `id` \"q\""}, "X=\"$(reboot) `id` \"q\"\""},
	}
	for _, tc := range tests {
		if got := strReplace(tc.tmpl, tc.params); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Values become text as Heat's _validate_replacement makes them.
func TestHeatString(t *testing.T) {
	for v, want := range map[any]string{nil: "", true: "True", false: "False", 6443: "6443", int64(5242880): "5242880", 1.5: "1.5", "x": "x"} {
		if got, err := heatString(v); err != nil || got != want {
			t.Errorf("heatString(%v) = %q, %v; want %q", v, got, err, want)
		}
	}
	if _, err := heatString([]string{"a"}); err == nil {
		t.Error("a list was accepted")
	}
}
