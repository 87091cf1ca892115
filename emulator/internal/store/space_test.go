package store

import (
	"errors"
	"strings"
	"testing"
)

func TestValidPath_P1(t *testing.T) {
	seg := strings.Repeat("a", MaxSegmentBytes)
	long := strings.Repeat("abcdefg/", MaxPathBytes/8-1) + "abcdefgh" // 1024 bytes
	tests := []struct {
		name string
		path string
		ok   bool
	}{
		{"simple", "a", true},
		{"nested", "data/output.csv", true},
		{"hidden file", ".bashrc", true},
		{"dots inside a name", "..a/b..", true},
		{"three dots", "...", true},
		{"unicode", "données/日本.txt", true},
		{"spaces", "my file.txt", true},
		{"exactly 1024 bytes", long, true},
		{"a segment of 255 bytes", seg, true},
		{"a segment of 256 bytes", "x/" + seg + "a", false},
		{"empty", "", false},
		{"1025 bytes", long + "a", false},
		{"invalid UTF-8", "a\xffb", false},
		{"leading slash", "/etc/passwd", false},
		{"only a slash", "/", false},
		{"dot", ".", false},
		{"dot dot", "..", false},
		{"dot segment", "a/./b", false},
		{"dot dot segment", "a/../b", false},
		{"leading dot dot", "../x", false},
		{"trailing dot dot", "a/..", false},
		{"empty segment", "a//b", false},
		{"trailing slash", "data/", false},
		{"backslash", `a\b`, false},
		{"windows escape", `..\x`, false},
		{"NUL", "a\x00b", false},
		{"newline", "a\nb", false},
		{"tab", "a\tb", false},
		{"DEL", "a\x7fb", false},
		{"escape char", "a\x1bb", false},
		{"C1 first (U+0080)", "a\u0080b", false},
		{"C1 NEL (U+0085)", "a\u0085b", false},
		{"C1 CSI (U+009B)", "x/\u009b[2J", false},
		{"C1 last (U+009F)", "a\u009fb", false},
		{"after C1 (U+00A0)", "a\u00a0b", true},
		{"before C1 (U+007E)", "a~b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidPath(tt.path)
			if tt.ok && err != nil {
				t.Fatalf("ValidPath(%q) = %v, want nil", tt.path, err)
			}
			if !tt.ok {
				if !errors.Is(err, ErrInvalidPath) {
					t.Fatalf("ValidPath(%q) = %v, want ErrInvalidPath", tt.path, err)
				}
				if err.Error() == ErrInvalidPath.Error() {
					t.Fatalf("ValidPath(%q): message %q does not say what is wrong", tt.path, err)
				}
			}
		})
	}
}

func TestValidID_P2(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"my-thread-123", true},
		{"org_abc", true},
		{"A.b-C_9", true},
		{"x", true},
		{".hidden", true},
		{"...", true},
		{strings.Repeat("z", MaxIDBytes), true},
		{"", false},
		{strings.Repeat("z", MaxIDBytes+1), false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{"a\\b", false},
		{"é", false},
		{"a\x00", false},
		{"a:b", false},
	}
	for _, tt := range tests {
		err := ValidID(tt.id)
		if tt.ok != (err == nil) {
			t.Errorf("ValidID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidPath) {
			t.Errorf("ValidID(%q) = %v, want ErrInvalidPath", tt.id, err)
		}
	}
}

func TestSpaceKey(t *testing.T) {
	if got, want := (Space{Org: "o", Kind: Thread, ID: "t"}).Key(), "orgs/o/threads/t"; got != want {
		t.Errorf("thread Key = %q, want %q", got, want)
	}
	if got, want := (Space{Org: "o", Kind: Volume, ID: "v"}).ObjectKey("a/b"), "orgs/o/volumes/v/a/b"; got != want {
		t.Errorf("volume ObjectKey = %q, want %q", got, want)
	}
	for _, sp := range []Space{{Org: "o", Kind: Thread, ID: "t"}, {Org: "o", Kind: Volume, ID: "v"}} {
		if got, want := sp.PrefixedKey("/b/", "x/y"), "/b/"+sp.Key()+"/x/y"; got != want {
			t.Errorf("PrefixedKey = %q, want %q", got, want)
		}
		if got, want := sp.ObjectKey("x"), sp.Key()+"/x"; got != want {
			t.Errorf("ObjectKey = %q, want %q", got, want)
		}
	}
}

func TestParseObjectKey(t *testing.T) {
	tests := []struct {
		key   string
		space Space
		path  string
		ok    bool
	}{
		{"orgs/org_abc/threads/my-thread-123/input.json", Space{"org_abc", Thread, "my-thread-123"}, "input.json", true},
		{"orgs/o/volumes/training-data/datasets/2026/x.csv", Space{"o", Volume, "training-data"}, "datasets/2026/x.csv", true},
		{"orgs/o/threads/t/a//b", Space{}, "", false},
		{"orgs/o/threads/t/../u/x", Space{}, "", false},
		{"orgs/o/threads/t/", Space{}, "", false},
		{"orgs/o/threads/t", Space{}, "", false},
		{"orgs/o/buckets/t/x", Space{}, "", false},
		{"org/o/threads/t/x", Space{}, "", false},
		{"orgs/../threads/t/x", Space{}, "", false},
		{"orgs/o/threads/../x", Space{}, "", false},
		{"orgs//threads/t/x", Space{}, "", false},
		{"orgs/o/threads/t t/x", Space{}, "", false},
		{"", Space{}, "", false},
	}
	for _, tt := range tests {
		sp, p, err := ParseObjectKey(tt.key)
		if !tt.ok {
			if !errors.Is(err, ErrInvalidPath) {
				t.Errorf("ParseObjectKey(%q) = %v, %q, %v; want ErrInvalidPath", tt.key, sp, p, err)
			}
			continue
		}
		if err != nil || sp != tt.space || p != tt.path {
			t.Errorf("ParseObjectKey(%q) = %v, %q, %v; want %v, %q", tt.key, sp, p, err, tt.space, tt.path)
			continue
		}
		if got := sp.ObjectKey(p); got != tt.key {
			t.Errorf("ObjectKey round trip of %q = %q", tt.key, got)
		}
	}
}
