package steps

// envLine is one line of a sysconfig/EnvironmentFile: an assignment, or a
// comment when Comment is set.
type envLine struct{ Key, Value, Comment string }

func kv(key, value string) envLine { return envLine{Key: key, Value: value} }
func comment(text string) envLine  { return envLine{Comment: text} }

// envFile is a whole Fedora-style sysconfig file (also a valid systemd
// EnvironmentFile). Mitaka sed-edited the package's copies in place and
// silently did nothing when a key was missing (spec §9.8); we render every
// key the units read, so what is on disk is exactly what the step meant.
func envFile(step, path string, lines ...envLine) file {
	return file{path: path, template: "envfile", mode: 0o644,
		data: struct {
			Step  string
			Lines []envLine
		}{step, lines}}
}

// profileData feeds the profile-env template: exports for login shells.
func profileData(step string, vars ...[2]string) any {
	return struct {
		Step string
		Vars [][2]string
	}{step, vars}
}
