package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/viper"
)

// HeatParamsCodec plugs the heat-params format into viper. viper only
// accepts formats from its fixed list, so it is registered as "env",
// replacing viper's dotenv codec (which expands $VARS — exactly what we
// must not do).
type HeatParamsCodec struct {
	File     string   // for error messages
	Warnings []string // duplicate keys seen by the last Decode
}

// Decode implements viper.Decoder.
func (c *HeatParamsCodec) Decode(b []byte, v map[string]any) error {
	entries, warns, err := ReadHeatParams(c.File, b)
	c.Warnings = append(c.Warnings, warns...)
	if err != nil {
		return err
	}
	for _, e := range entries {
		v[e.Key] = e.Value
	}
	return nil
}

// Encode implements viper.Encoder: sorted KEY="value" lines.
func (c *HeatParamsCodec) Encode(v map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	entries := make([]Entry, 0, len(keys))
	for _, k := range keys {
		entries = append(entries, Entry{Key: strings.ToUpper(k), Value: fmt.Sprint(v[k])})
	}
	return RenderHeatParams(entries), nil
}

// Loaded is heat-params read, typed, role-resolved and validated.
type Loaded struct {
	Params   Params
	Checksum string   // sha256 of the file's bytes
	Warnings []string // duplicates, unknown keys
	Problems Problems // invalid values and cross-key problems
}

// LoadParams reads heat-params text through viper with our codec, types it,
// resolves the role and validates. A malformed line is an error; bad values
// are returned as Problems so callers can report all of them at once.
func LoadParams(file string, data []byte, roleOverride string) (*Loaded, error) {
	codec := &HeatParamsCodec{File: file}
	reg := viper.NewCodecRegistry()
	if err := reg.RegisterCodec("env", codec); err != nil {
		return nil, err
	}
	v := viper.NewWithOptions(viper.WithCodecRegistry(reg))
	v.SetConfigType("env")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		var pe *ParseError
		if asParseError(err, &pe) {
			return nil, pe
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	raw := map[string]string{}
	l := &Loaded{Warnings: codec.Warnings}
	for _, k := range v.AllKeys() {
		key := strings.ToUpper(k)
		raw[key] = v.GetString(k)
		if _, known := byKey[Key(key)]; !known {
			l.Warnings = append(l.Warnings, fmt.Sprintf("%s: unknown key %s ignored", file, key))
		}
	}
	slices.Sort(l.Warnings)
	sum := sha256.Sum256(data)
	l.Checksum = hex.EncodeToString(sum[:])
	l.Params, l.Problems = Decode(raw)
	if err := l.Params.ResolveRole(roleOverride); err != nil {
		l.Problems = append(l.Problems, Problem{NodeRole, err.Error()})
		return l, nil
	}
	l.Problems = append(l.Problems, l.Params.Validate()...)
	return l, nil
}
