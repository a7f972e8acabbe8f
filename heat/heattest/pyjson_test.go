package heattest

import "testing"

// Expected values below were produced by CPython 3.11's json module, the
// interpreter Heat 19 runs on.

func TestPyLoadsErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{"{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
		{"{\"a\"", "Expecting ':' delimiter: line 1 column 5 (char 4)"},
		{"{\"a\":", "Expecting value: line 1 column 6 (char 5)"},
		{"{\"a\":1", "Expecting ',' delimiter: line 1 column 7 (char 6)"},
		{"{\"a\":1,", "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"},
		{"{\"a", "Unterminated string starting at: line 1 column 2 (char 1)"},
		{"{\"a\\x\":1}", "Invalid \\escape: line 1 column 4 (char 3)"},
		{"{\"a\":1}x", "Extra data: line 1 column 8 (char 7)"},
		{"{\"a\":[1,]}", "Expecting value: line 1 column 9 (char 8)"},
		{"{\"a\":\"\x01\"}", "Invalid control character at: line 1 column 7 (char 6)"},
		{"{\n \"a\": tru}", "Expecting value: line 2 column 7 (char 8)"},
		{"{\"a\":01}", "Expecting ',' delimiter: line 1 column 7 (char 6)"},
		{"{\"a\":1 \"b\":2}", "Expecting ',' delimiter: line 1 column 8 (char 7)"},
		{"{\"a\":[1 2]}", "Expecting ',' delimiter: line 1 column 9 (char 8)"},
		{"{,}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
		{"{\"a\":\"\\u12\"}", "Invalid \\uXXXX escape: line 1 column 8 (char 7)"},
		{"{\"a\":\"\\uZZZZ\"}", "Invalid \\uXXXX escape: line 1 column 8 (char 7)"},
		{"{\"a\":-}", "Expecting value: line 1 column 6 (char 5)"},
		{"{\"a\":1.}", "Expecting ',' delimiter: line 1 column 7 (char 6)"},
		{"{\"a\":[1,", "Expecting value: line 1 column 9 (char 8)"},
		{"{\"a\":[", "Expecting value: line 1 column 7 (char 6)"},
		{"{\"a\":[1", "Expecting ',' delimiter: line 1 column 8 (char 7)"},
		{"{\"a\":\"\\", "Unterminated string starting at: line 1 column 6 (char 5)"},
		{"{\"a\":\"abc", "Unterminated string starting at: line 1 column 6 (char 5)"},
		{"{\"a\":nul}", "Expecting value: line 1 column 6 (char 5)"},
		{"{\"a\":-Inf}", "Expecting value: line 1 column 6 (char 5)"},
		{"{\"é\":\"x\" x", "Expecting ',' delimiter: line 1 column 10 (char 9)"},
		{"{\"a\":1}\n\n  z", "Extra data: line 3 column 3 (char 11)"},
		{"{\"a\":[1]]", "Expecting ',' delimiter: line 1 column 9 (char 8)"},
		{"{\"a\":{\"b\":}", "Expecting value: line 1 column 11 (char 10)"},
		{"{\"a\":1,}", "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"},
		{"{\"a\" 1}", "Expecting ':' delimiter: line 1 column 6 (char 5)"},
		{"{\"a\":[}", "Expecting value: line 1 column 7 (char 6)"},
	}
	for _, tc := range cases {
		_, err := pyLoads([]byte(tc.body))
		if err == nil || err.Error() != tc.want {
			t.Errorf("pyLoads(%q) error = %v, want %q", tc.body, err, tc.want)
		}
	}
}

func TestPyLoadsUTF8Errors(t *testing.T) {
	cases := []struct{ body, want string }{
		{"{\"a\":\"\xff\"}", "'utf-8' codec can't decode byte 0xff in position 6: invalid start byte"},
		{"{\"a\":\"\xc3", "'utf-8' codec can't decode byte 0xc3 in position 6: unexpected end of data"},
		{"{\"a\":\"\xc3x\"}", "'utf-8' codec can't decode byte 0xc3 in position 6: invalid continuation byte"},
		{"{\"a\":\"\xe2\x82", "'utf-8' codec can't decode bytes in position 6-7: unexpected end of data"},
		{"{\"a\":\"\xe2\x82x\"}", "'utf-8' codec can't decode bytes in position 6-7: invalid continuation byte"},
		{"{\"a\":\"\xed\xa0\x80\"}", "'utf-8' codec can't decode byte 0xed in position 6: invalid continuation byte"},
		{"{\"a\":\"\xf0\x9f\x98\"}", "'utf-8' codec can't decode bytes in position 6-8: invalid continuation byte"},
		{"{\"a\":\"\x80\"}", "'utf-8' codec can't decode byte 0x80 in position 6: invalid start byte"},
		{"{\"a\":\"\xc0\xaf\"}", "'utf-8' codec can't decode byte 0xc0 in position 6: invalid start byte"},
		{"{\"a\":\"\xf4\x90\x80\x80\"}", "'utf-8' codec can't decode byte 0xf4 in position 6: invalid continuation byte"},
	}
	for _, tc := range cases {
		_, err := pyLoads([]byte(tc.body))
		if err == nil || err.Error() != tc.want {
			t.Errorf("pyLoads(%q) error = %v, want %q", tc.body, err, tc.want)
		}
	}
}

// TestPyLoadsRoundTrip checks order, duplicates and number kinds through
// json.dumps and str().
func TestPyLoadsRoundTrip(t *testing.T) {
	cases := []struct{ body, dumps, str string }{
		{"{\"b\":1,\"a\":[1.5,-0,\"x\"],\"c\":{\"d\":null,\"e\":true}}", "{\"b\": 1, \"a\": [1.5, 0, \"x\"], \"c\": {\"d\": null, \"e\": true}}", "{'b': 1, 'a': [1.5, 0, 'x'], 'c': {'d': None, 'e': True}}"},
		{"{\"a\":1,\"a\":2,\"b\":3}", "{\"a\": 2, \"b\": 3}", "{'a': 2, 'b': 3}"},
		{"{\"a\":NaN,\"b\":-Infinity,\"c\":Infinity}", "{\"a\": NaN, \"b\": -Infinity, \"c\": Infinity}", "{'a': nan, 'b': -inf, 'c': inf}"},
		{"{\"s\":\"\\ud83d\\ude00\\n\\\"é\\/\"}", "{\"s\": \"\\ud83d\\ude00\\n\\\"\\u00e9/\"}", "{'s': '😀\\n\"é/'}"},
		{"{\"n\":1e5,\"m\":1E-2,\"k\":2e+3,\"big\":123456789012345678901234567890,\"f\":1e16,\"g\":1.5e-5,\"h\":0.0001}", "{\"n\": 100000.0, \"m\": 0.01, \"k\": 2000.0, \"big\": 123456789012345678901234567890, \"f\": 1e+16, \"g\": 1.5e-05, \"h\": 0.0001}", "{'n': 100000.0, 'm': 0.01, 'k': 2000.0, 'big': 123456789012345678901234567890, 'f': 1e+16, 'g': 1.5e-05, 'h': 0.0001}"},
		{"{ \"a\" : [ ] , \"b\" : { } }  ", "{\"a\": [], \"b\": {}}", "{'a': [], 'b': {}}"},
		{"{\"u\":\"\\u00e9\\u4e2d\"}", "{\"u\": \"\\u00e9\\u4e2d\"}", "{'u': 'é中'}"},
		{"{\"q\":\"it's\",\"r\":\"say \\\"hi\\\"\",\"t\":\"both ' and \\\"\"}", "{\"q\": \"it's\", \"r\": \"say \\\"hi\\\"\", \"t\": \"both ' and \\\"\"}", "{'q': \"it's\", 'r': 'say \"hi\"', 't': 'both \\' and \"'}"},
	}
	for _, tc := range cases {
		v, err := pyLoads([]byte(tc.body))
		if err != nil {
			t.Fatalf("pyLoads(%q): %v", tc.body, err)
		}
		if got := pyDumps(v); got != tc.dumps {
			t.Errorf("dumps(%q) = %s, want %s", tc.body, got, tc.dumps)
		}
		if got := pyStrOf(v); got != tc.str {
			t.Errorf("str(%q) = %s, want %s", tc.body, got, tc.str)
		}
	}
}

// TestPyStrOfIDs is str(id), the metadata key of a signal (§2).
func TestPyStrOfIDs(t *testing.T) {
	cases := []struct{ json, want string }{
		{"1", "1"},
		{"1.0", "1.0"},
		{"-0", "0"},
		{"1e20", "1e+20"},
		{"1e-7", "1e-07"},
		{"123.456", "123.456"},
		{"true", "True"},
		{"false", "False"},
		{"null", "None"},
		{"\"x\"", "x"},
		{"[1,\"a\",null]", "[1, 'a', None]"},
		{"{\"a\":\"b\",\"c\":[true]}", "{'a': 'b', 'c': [True]}"},
		{"\"it's\"", "it's"},
		{"\"tab\\there\"", "tab\there"},
		{"100.0", "100.0"},
		{"1e16", "1e+16"},
		{"12345678901234567.0", "1.2345678901234568e+16"},
		{"-1.5e-300", "-1.5e-300"},
		{"1e400", "inf"},
		{"-1e400", "-inf"},
	}
	for _, tc := range cases {
		v, err := pyLoads([]byte(`{"id":` + tc.json + `}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := pyStrOf(v.get("id")); got != tc.want {
			t.Errorf("str(%s) = %q, want %q", tc.json, got, tc.want)
		}
	}
}
