package store

import (
	"path"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzValidPath checks that every path ValidPath accepts obeys SPEC P-1,
// whatever the bytes.
func FuzzValidPath(f *testing.F) {
	for _, s := range []string{"a", "data/output.csv", "a/../b", "./a", "a//b", "/etc/passwd", `a\b`, "a\x00b",
		"a\u0085b", "a\u009bb", "ünï/東京.txt", "a\xffb", strings.Repeat("x", 256), strings.Repeat("a/", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if ValidPath(p) != nil {
			return
		}
		switch {
		case p == "" || len(p) > MaxPathBytes:
			t.Fatalf("accepted %q of %d bytes", p, len(p))
		case !utf8.ValidString(p):
			t.Fatalf("accepted invalid UTF-8 %q", p)
		case strings.HasPrefix(p, "/") || strings.ContainsRune(p, '\\'):
			t.Fatalf("accepted %q", p)
		case path.Clean(p) != p || strings.HasPrefix(p, "../") || p == "..":
			t.Fatalf("accepted unclean %q", p)
		}
		for _, r := range p {
			if unicode.IsControl(r) {
				t.Fatalf("accepted control character U+%04X in %q", r, p)
			}
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || seg == "." || seg == ".." || len(seg) > MaxSegmentBytes {
				t.Fatalf("accepted segment %q in %q", seg, p)
			}
		}
	})
}

// FuzzValidID checks ValidID against its definition: [A-Za-z0-9._-]{1,128},
// not "." or "..".
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"t1", "shared-data", ".", "..", "a/b", "", strings.Repeat("a", 129), "a\x00", "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := id != "" && len(id) <= MaxIDBytes && id != "." && id != ".." &&
			strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
		if got := ValidID(id) == nil; got != want {
			t.Fatalf("ValidID(%q) accepted=%v, want %v", id, got, want)
		}
	})
}

// FuzzParseObjectKey checks that a key ParseObjectKey accepts names a valid
// space and path and round-trips through ObjectKey.
func FuzzParseObjectKey(f *testing.F) {
	for _, s := range []string{"orgs/o/threads/t/a/b", "orgs/o/volumes/v/x", "orgs/../threads/t/a", "orgs/o/threads/t/../../x", "orgs/o/other/t/a", "orgs/o/threads/t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		sp, p, err := ParseObjectKey(key)
		if err != nil {
			return
		}
		if validSpace(sp) != nil || ValidPath(p) != nil {
			t.Fatalf("ParseObjectKey(%q) = %+v %q: invalid parts accepted", key, sp, p)
		}
		if sp.ObjectKey(p) != key {
			t.Fatalf("ParseObjectKey(%q) round-trips to %q", key, sp.ObjectKey(p))
		}
	})
}
