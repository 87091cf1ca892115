package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// appendListJSON must write byte for byte what json.Marshal writes for the
// same listing, for every kind of name a path may hold.
func TestAppendListJSONMatchesEncodingJSON(t *testing.T) {
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.FixedZone("x", 3600))
	names := []string{"a.txt", `q"uote`, `back\slash`, "<b>&amp;", "ünï", "line\u2028sep", "tab\tname", "emoji 😀", "sp ace", "x\x7f"}
	var entries []store.Entry
	for i, n := range names {
		entries = append(entries,
			store.Entry{Name: n, Path: "dir/" + n, Size: int64(i * 1000), Modified: t1.Add(time.Duration(i/3) * time.Second)},
			store.Entry{Name: n, Path: n, Modified: t1.Add(-time.Duration(i) * time.Hour), IsDir: true})
	}
	for _, es := range [][]store.Entry{nil, entries} {
		files := make([]fileEntry, 0, len(es))
		for _, e := range es {
			files = append(files, fileEntry{Name: e.Name, Path: e.Path, Size: e.Size,
				Modified: e.Modified.UTC().Format(timeFormat), IsDirectory: e.IsDir})
		}
		want, err := json.Marshal(map[string]any{"files": files})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendListJSON(nil, es); string(got) != string(want) {
			t.Errorf("appendListJSON =\n%s\nwant\n%s", got, want)
		}
	}
}

// appendSignedJSON must write byte for byte what an Encoder without HTML
// escaping writes for the same answer (json.Marshal's bytes but '&', '<'
// and '>' as themselves), whatever its URL and headers hold: the same JSON
// value as json.Marshal's.
func TestAppendSignedJSONMatchesEncodingJSON(t *testing.T) {
	for _, sr := range []signedResponse{
		{URL: "http://127.0.0.1:8080/b/orgs/o/threads/t/a%20b.txt?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Date=20260101T000000Z&sig=<x>", Method: "PUT",
			Headers: map[string]string{"Content-Type": "text/plain; charset=\"utf-8\"", "x-ms-blob-type": "BlockBlob", "A": `back\slash`}, ExpiresAt: "2026-01-01T00:15:00Z"},
		{URL: "http://h/ünï\u2028&<>", Method: "GET", Headers: map[string]string{}, ExpiresAt: "x"},
		{URL: "tab\there", Method: "GET", Headers: nil, ExpiresAt: "\x7f"},
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(sr); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(buf.String(), "\n")
		got := appendSignedJSON(nil, sr)
		if string(got) != want {
			t.Errorf("appendSignedJSON =\n%s\nwant\n%s", got, want)
		}
		var back signedResponse
		if err := json.Unmarshal(got, &back); err != nil || !reflect.DeepEqual(back, sr) {
			t.Errorf("appendSignedJSON decodes to %+v, %v; want %+v", back, err, sr)
		}
	}
}
