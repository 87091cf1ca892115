package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// listFixture is a thread laid out like the seed's example, plus the
// entries that make prefix and ordering rules bite.
type listFixture struct {
	sp      space
	files   map[string]int64 // path → size
	dirs    []string
	started time.Time // target time before the first upload
}

// The fixture's files, in upload order. With clock control the clock moves
// between groups so that directory times can be told apart.
var listFixtureFiles = [][]struct {
	path string
	size int
}{
	{{"data/output.csv", 2048}, {"Zed.txt", 3}, {"data.csv", 11}, {"empty.txt", 0}},
	{{"data/sub/deep.txt", 17}},
	{{"model.pkl", 1500}},
}

func (c *checkRun) listFixture() *listFixture {
	return c.shared("list", func(c *checkRun) any {
		f := &listFixture{sp: c.sharedThread("list"), files: map[string]int64{}, dirs: []string{"data", "data/sub"}}
		f.started = c.serverNow()
		for i, group := range listFixtureFiles {
			if i > 0 && c.rs.pre.ClockControl {
				c.advance(2 * time.Minute)
			}
			for _, fl := range group {
				c.upload(f.sp, fl.path, "application/octet-stream", patterned(fl.size))
				f.files[fl.path] = int64(fl.size)
			}
		}
		return f
	}).(*listFixture)
}

// all returns every path of the fixture, directories included, sorted.
func (f *listFixture) all() []string {
	var out []string
	for p := range f.files {
		out = append(out, p)
	}
	out = append(out, f.dirs...)
	sort.Strings(out)
	return out
}

func (f *listFixture) withPrefix(prefix string) []string {
	var out []string
	for _, p := range f.all() {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	return out
}

// patterned is n bytes that are not all the same (so a shifted or
// corrupted copy is noticed).
func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+i/26)%26)
	}
	return b
}

func sortedCopy(xs []string) []string {
	out := slices.Clone(xs)
	sort.Strings(out)
	return out
}

// List semantics (SPEC L-1 … L-5).
var _ = area("list", labels("serial"), func() { // the shared fixture moves the clock: no rate limit or expiry check may run meanwhile
	check("L-1", DOC, "entries carry name, path, size, modified and is_directory with JSON types", labels("L-1.a", "L-1.b"), func(c *checkRun) {
		f := c.listFixture()
		r := c.listResp(f.sp, nil)
		c.ok(r)
		checkEntryShapes(c, r)
		if c.rs.cfg.ROVolume != "" {
			r = c.listResp(space{"volume", c.rs.cfg.ROVolume}, nil)
			c.ok(r)
			checkEntryShapes(c, r)
		}
	})

	check("L-1", DOC, "path is the full path from the root, name its last segment, size in bytes (0 for directories)", labels("L-1.c", "L-1.d", "L-1.e", "L-1.f"), func(c *checkRun) {
		f := c.listFixture()
		es, r := c.list(f.sp, nil)
		for _, e := range es {
			want := e.Path[strings.LastIndex(e.Path, "/")+1:]
			c.expect(r, e.Name == want, claim{want: fmt.Sprintf("name %q for path %q", want, e.Path), got: fmt.Sprintf("name %q", e.Name), why: fmt.Sprintf("entry %q: name is not the last segment of the path", e.Path)})
			if e.IsDirectory {
				c.expect(r, e.Size == 0, claim{want: "size 0 for a directory", got: fmt.Sprint(e.Size), why: fmt.Sprintf("directory %q has size %d", e.Path, e.Size)})
				continue
			}
			size, known := f.files[e.Path]
			c.expect(r, known, claim{want: fmt.Sprint(f.all()), got: e.Path, why: fmt.Sprintf("listing has an unexpected file %q", e.Path)})
			c.expect(r, e.Size == size, claim{want: fmt.Sprintf("%s: %d bytes", e.Path, size), got: fmt.Sprintf("%d bytes", e.Size), why: fmt.Sprintf("wrong size for %q", e.Path)})
		}
	})

	check("L-1", DOC, "modified is an RFC 3339 UTC time of the upload", labels("L-1.g", "L-1.h"), func(c *checkRun) {
		f := c.listFixture()
		es, r := c.list(f.sp, nil)
		now := c.serverNow()
		tol := c.timeTolerance()
		for _, e := range es {
			t, err := parseUTC(e.Modified)
			c.expect(r, err == nil, claim{want: "RFC 3339 UTC", got: e.Modified, why: fmt.Sprintf("entry %q: %v", e.Path, err)})
			c.expect(r, !t.Before(f.started.Add(-tol)) && !t.After(now.Add(tol)), claim{want: fmt.Sprintf("between %s and %s", f.started.Format(time.RFC3339), now.Format(time.RFC3339)), got: e.Modified, why: fmt.Sprintf("entry %q: modified %s is not the time of its upload", e.Path, e.Modified)})
		}
	})

	check("L-2", DOC, "without path the listing is recursive and includes directory entries", labels("L-2.a", "L-2.b", "L-2.c"), func(c *checkRun) {
		f := c.listFixture()
		es, r := c.list(f.sp, nil)
		got, want := sortedCopy(paths(es)), f.all()
		c.expect(r, slices.Equal(got, want), claim{want: fmt.Sprint(want), got: fmt.Sprint(got), why: "the listing is not the thread's full tree"})
		for _, e := range es {
			c.expect(r, e.IsDirectory == slices.Contains(f.dirs, e.Path), claim{want: fmt.Sprintf("is_directory %v", !e.IsDirectory), got: fmt.Sprintf("is_directory %v", e.IsDirectory), why: fmt.Sprintf("entry %q: wrong is_directory", e.Path)})
		}
	})

	for _, prefix := range []string{"data/", "data/sub/"} {
		check("L-3", DOC, fmt.Sprintf("path %q returns only entries under it, with full paths", prefix), labels("L-3.a", "L-3.b"), func(c *checkRun) {
			f := c.listFixture()
			es, r := c.list(f.sp, &prefix)
			c.observe("list_path_relativity", pathRelativity(paths(es), prefix))
			got, want := sortedCopy(paths(es)), f.withPrefix(prefix)
			c.expect(r, slices.Equal(got, want), claim{want: fmt.Sprint(want), got: fmt.Sprint(got), why: fmt.Sprintf("path %q: wrong entries (paths must stay full paths from the root)", prefix)})
		})
	}

	check("L-3", EMU, `path "data" (no trailing slash) is a string prefix: data, data.csv and data/...`, labels("L-3.c"), func(c *checkRun) {
		f := c.listFixture()
		prefix := "data"
		es, r := c.list(f.sp, &prefix)
		got, want := sortedCopy(paths(es)), f.withPrefix(prefix)
		c.expect(r, slices.Equal(got, want), claim{want: fmt.Sprint(want), got: fmt.Sprint(got), why: fmt.Sprintf("path %q: wrong entries", prefix)})
	})

	check("L-4", EMU, "entries are sorted by path in byte order", labels("L-4.a"), func(c *checkRun) {
		f := c.listFixture()
		es, r := c.list(f.sp, nil)
		got := paths(es)
		c.expect(r, slices.IsSorted(got), claim{want: fmt.Sprint(sortedCopy(got)), got: fmt.Sprint(got), why: "entries are not sorted by path"})
	})

	check("L-4", EMU, "a directory's modified is the newest of its contents", labels("L-4.b"), func(c *checkRun) {
		f := c.listFixture()
		es, r := c.list(f.sp, nil)
		times := map[string]time.Time{}
		for _, e := range es {
			t, err := parseUTC(e.Modified)
			c.expect(r, err == nil, claim{want: "RFC 3339 UTC", got: e.Modified, why: fmt.Sprintf("entry %q: %v", e.Path, err)})
			times[e.Path] = t
		}
		for _, d := range f.dirs {
			var newest time.Time
			for p, t := range times {
				if strings.HasPrefix(p, d+"/") && t.After(newest) {
					newest = t
				}
			}
			got, ok := times[d]
			c.expect(r, ok, claim{want: "directory " + d + " listed", got: fmt.Sprint(paths(es)), why: fmt.Sprintf("directory %q missing", d)})
			c.expect(r, got.Equal(newest), claim{want: newest.Format(time.RFC3339Nano), got: got.Format(time.RFC3339Nano), why: fmt.Sprintf("directory %q: modified is not the newest of its contents", d)})
		}
	})

	check("L-4", EMU, `a prefix that matches nothing gives {"files": []}, not null`, labels("L-4.c"), func(c *checkRun) {
		f := c.listFixture()
		prefix := "no-such-prefix/"
		r := c.listResp(f.sp, &prefix)
		c.ok(r)
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(r.Body, &raw)
		got := strings.Join(strings.Fields(string(raw["files"])), "")
		c.expect(r, got == "[]", claim{want: `"files": []`, got: `"files": ` + string(raw["files"]), why: "an empty listing must be an empty array"})
	})

	check("L-5", DOC, "an unknown thread → 404 not_found", labels("L-5.a"), func(c *checkRun) {
		r := c.listResp(c.unknownThread(), nil)
		c.wantError(r, http.StatusNotFound, "not_found")
	})

	check("L-5", DOC, "an unknown volume → 404 not_found", labels("L-5.b"), func(c *checkRun) {
		r := c.listResp(space{"volume", c.rs.prefix + "-no-such-volume"}, nil)
		c.wantError(r, http.StatusNotFound, "not_found")
	})
})

// checkEntryShapes requires every entry to have the five L-1 fields with
// their JSON types.
func checkEntryShapes(c *checkRun, r *Response) {
	var lr struct {
		Files []map[string]any `json:"files"`
	}
	if err := json.Unmarshal(r.Body, &lr); err != nil || lr.Files == nil {
		c.fail(r, `{"files": [...]}`, r.Summary(), "list answer has no files array")
	}
	for i, e := range lr.Files {
		raw, _ := json.Marshal(e)
		need := func(field, kind string, ok bool) {
			c.expect(r, ok, claim{want: fmt.Sprintf("entry field %q (%s)", field, kind), got: string(raw), why: fmt.Sprintf("entry %d: field %q missing or not a %s", i, field, kind)})
		}
		_, ok := e["name"].(string)
		need("name", "string", ok)
		_, ok = e["path"].(string)
		need("path", "string", ok)
		size, ok := e["size"].(float64)
		need("size", "integer", ok && size == float64(int64(size)) && size >= 0)
		_, ok = e["modified"].(string)
		need("modified", "string", ok)
		_, ok = e["is_directory"].(bool)
		need("is_directory", "boolean", ok)
	}
}

// pathRelativity says how a listing with a path argument spells its
// entries' paths: "root-relative" (the docs: full paths from the storage
// root), "relative to path" (the prefix cut off, as one third party saw
// SDK results), "mixed", or "empty".
func pathRelativity(ps []string, prefix string) string {
	if len(ps) == 0 {
		return "empty"
	}
	full := 0
	for _, p := range ps {
		if strings.HasPrefix(p, prefix) {
			full++
		}
	}
	switch full {
	case len(ps):
		return "root-relative"
	case 0:
		return "relative to path"
	}
	return "mixed"
}
