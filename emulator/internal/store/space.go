package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the kind of storage root: a thread or a volume.
type Kind string

// The two storage sources of the Files API (SPEC S-1).
const (
	Thread Kind = "thread"
	Volume Kind = "volume"
)

// Space is one storage root: a thread or a volume of one organisation.
type Space struct {
	Org  string
	Kind Kind
	ID   string // thread ID or volume slug
}

// Key returns the space's prefix in the bucket layout of the seed:
// "orgs/<org>/threads/<id>" or "orgs/<org>/volumes/<slug>".
func (s Space) Key() string {
	dir := "threads"
	if s.Kind == Volume {
		dir = "volumes"
	}
	return "orgs/" + s.Org + "/" + dir + "/" + s.ID
}

// ObjectKey returns the bucket key of path p inside the space.
func (s Space) ObjectKey(p string) string { return s.PrefixedKey("", p) }

// PrefixedKey returns prefix + ObjectKey(p), made in one piece (a signed
// URL's path is "/<bucket>/" and the key).
func (s Space) PrefixedKey(prefix, p string) string {
	dir := "threads"
	if s.Kind == Volume {
		dir = "volumes"
	}
	return prefix + "orgs/" + s.Org + "/" + dir + "/" + s.ID + "/" + p
}

// ParseObjectKey is the inverse of ObjectKey: it splits a bucket key into its
// space and the path inside it, validating every part.
func ParseObjectKey(key string) (Space, string, error) {
	parts := strings.SplitN(key, "/", 5)
	if len(parts) != 5 || parts[0] != "orgs" {
		return Space{}, "", fmt.Errorf("%w: object key %q is not orgs/<org>/{threads|volumes}/<id>/<path>", ErrInvalidPath, key)
	}
	sp := Space{Org: parts[1], ID: parts[3]}
	switch parts[2] {
	case "threads":
		sp.Kind = Thread
	case "volumes":
		sp.Kind = Volume
	default:
		return Space{}, "", fmt.Errorf("%w: object key %q: %q is neither threads nor volumes", ErrInvalidPath, key, parts[2])
	}
	if err := ValidID(sp.Org); err != nil {
		return Space{}, "", err
	}
	if err := ValidID(sp.ID); err != nil {
		return Space{}, "", err
	}
	if err := ValidPath(parts[4]); err != nil {
		return Space{}, "", err
	}
	return sp, parts[4], nil
}

// Errors returned by the store. Callers map them to the API's envelope.
var (
	ErrNotFound     = errors.New("not found")
	ErrIsDir        = errors.New("is a directory")
	ErrInvalidPath  = errors.New("invalid path")
	ErrSizeMismatch = errors.New("body length does not match the declared length")
	ErrBadDigest    = errors.New("content MD5 does not match the declared one")
)

// MaxPathBytes is the longest path accepted (SPEC P-1).
const MaxPathBytes = 1024

// MaxSegmentBytes is the longest segment of a path: the store keeps files on
// a real filesystem, whose names are at most 255 bytes (an EMU limit).
const MaxSegmentBytes = 255

// MaxIDBytes is the longest thread ID or volume slug accepted (SPEC P-2).
const MaxIDBytes = 128

// ValidPath checks a Files API path (SPEC P-1): relative, '/'-separated,
// UTF-8, 1–1024 bytes, segments of at most 255 bytes, no '.', '..' or empty
// segments, no backslash, NUL or control characters (C0, DEL, C1). The error wraps ErrInvalidPath and says what is wrong.
func ValidPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: path must not be empty", ErrInvalidPath)
	case len(p) > MaxPathBytes:
		return fmt.Errorf("%w: path is %d bytes, the maximum is %d bytes", ErrInvalidPath, len(p), MaxPathBytes)
	case !utf8.ValidString(p):
		return fmt.Errorf("%w: path must be valid UTF-8", ErrInvalidPath)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: path must be relative (no leading '/')", ErrInvalidPath)
	case strings.ContainsRune(p, '\\'):
		return fmt.Errorf("%w: path must not contain a backslash", ErrInvalidPath)
	}
	for i, r := range p {
		// Unicode Cc: C0, DEL and C1 (U+0080-U+009F), SPEC P-1. C1 codes
		// such as U+009B (CSI) are terminal escapes in a listing.
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return fmt.Errorf("%w: path must not contain NUL or control characters (found U+%04X at byte %d)", ErrInvalidPath, r, i)
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: path must not contain empty segments (\"//\" or a trailing '/')", ErrInvalidPath)
		case ".", "..":
			return fmt.Errorf("%w: path must not contain %q segments", ErrInvalidPath, seg)
		}
		if len(seg) > MaxSegmentBytes {
			return fmt.Errorf("%w: a path segment is %d bytes, the maximum is %d bytes", ErrInvalidPath, len(seg), MaxSegmentBytes)
		}
	}
	return nil
}

// ValidID checks a thread ID, volume slug or organisation ID (SPEC P-2):
// [A-Za-z0-9._-]{1,128}, and not "." or "..".
func ValidID(id string) error {
	if id == "" || len(id) > MaxIDBytes {
		return fmt.Errorf("%w: id must be 1 to %d characters of [A-Za-z0-9._-]", ErrInvalidPath, MaxIDBytes)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("%w: id must not be %q", ErrInvalidPath, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: id must be 1 to %d characters of [A-Za-z0-9._-]", ErrInvalidPath, MaxIDBytes)
		}
	}
	return nil
}

// Entry is one line of a listing (SPEC L-1).
type Entry struct {
	Name     string
	Path     string
	Size     int64
	Modified time.Time
	IsDir    bool
}

// Object describes one stored file.
type Object struct {
	Path        string
	Size        int64
	ContentType string
	Modified    time.Time
	ETag        string // quoted, stable while the file is unchanged
	// MD5 is the hex MD5 of the content if the upload computed it (PutMD5)
	// and the file is unchanged since; else "".
	MD5 string
}
