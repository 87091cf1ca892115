package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
)

// A PUT answers the content's MD5 as its ETag, and GET and HEAD of the
// stored object answer the same ETag.
func TestPutAndGetETagsAreTheContentMD5(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	data := bytes.Repeat([]byte("etag me "), 3000)
	sum := md5.Sum(data)
	want := `"` + hex.EncodeToString(sum[:]) + `"`
	up := e.upload(t, thread, "e/t.bin", "application/octet-stream", data)
	if up.status != http.StatusOK || up.header.Get("ETag") != want {
		t.Fatalf("PUT: status %d, ETag %q; want 200 and %s\n%s", up.status, up.header.Get("ETag"), want, up.body)
	}
	get := e.download(t, thread, "e/t.bin", nil)
	if get.status != http.StatusOK || get.header.Get("ETag") != want || !bytes.Equal(get.body, data) {
		t.Fatalf("GET: status %d, ETag %q; want 200, %s and the bytes", get.status, get.header.Get("ETag"), want)
	}
	rng := e.download(t, thread, "e/t.bin", map[string]string{"Range": "bytes=8-15"})
	if rng.status != http.StatusPartialContent || string(rng.body) != "etag me " || rng.header.Get("ETag") != want {
		t.Fatalf("ranged GET: status %d, body %q, ETag %q", rng.status, rng.body, rng.header.Get("ETag"))
	}
	s, err := e.f.signer().Presign(http.MethodHead, thread, "e/t.bin", http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	if head := do(t, http.MethodHead, s.URL, nil, nil); head.status != http.StatusOK || head.header.Get("ETag") != want {
		t.Fatalf("HEAD: status %d, ETag %q, want %s", head.status, head.header.Get("ETag"), want)
	}
}

// The face's own PutObject answers as gofakes3 does: the same status,
// headers and body, for a success and for each refusal it makes itself. The
// same request is sent once plainly (served by the face) and once with a
// user-metadata header (which sends it to gofakes3, and changes nothing
// else in the answer).
func TestFastPutAnswersAsGofakes3(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	data := []byte("0123456789abcdef")
	other := md5.Sum([]byte("other"))
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"stored", nil, http.StatusOK},
		{"right Content-MD5", map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(func() []byte { s := md5.Sum(data); return s[:] }())}, http.StatusOK},
		{"wrong Content-MD5", map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(other[:])}, http.StatusBadRequest},
		{"Content-MD5 not base64", map[string]string{"Content-MD5": "%%%"}, http.StatusBadRequest},
		{"Content-MD5 too short", map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString([]byte("short"))}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [2]result
			for i, force := range []bool{false, true} {
				s, err := e.f.SignUpload(thread, "cmp/"+strings.ReplaceAll(tc.name, " ", "_"), "text/plain", int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				h := map[string]string{"Content-Type": "text/plain"}
				for k, v := range tc.header {
					h[k] = v
				}
				if force {
					h["X-Amz-Meta-Path"] = "gofakes3"
				}
				got[i] = do(t, http.MethodPut, s.URL, h, data)
			}
			fast, slow := got[0], got[1]
			if fast.status != tc.status || slow.status != tc.status {
				t.Fatalf("status: face %d, gofakes3 %d, want %d\n%s\n%s", fast.status, slow.status, tc.status, fast.body, slow.body)
			}
			if !bytes.Equal(fast.body, slow.body) {
				t.Errorf("body differs:\nface:     %q\ngofakes3: %q", fast.body, slow.body)
			}
			names := func(h http.Header) []string {
				var out []string
				for k := range h {
					out = append(out, k)
				}
				slices.Sort(out)
				return out
			}
			if a, b := names(fast.header), names(slow.header); !slices.Equal(a, b) {
				t.Errorf("header names differ:\nface:     %v\ngofakes3: %v", a, b)
			}
			for k := range slow.header {
				switch k {
				case "Date", "X-Amz-Request-Id", "X-Amz-Id-2":
					continue // per request
				}
				if fast.header.Get(k) != slow.header.Get(k) {
					t.Errorf("%s: face %q, gofakes3 %q", k, fast.header.Get(k), slow.header.Get(k))
				}
			}
			id := fast.header.Get("X-Amz-Request-Id")
			if want := base64.StdEncoding.EncodeToString([]byte(id + id + id + id)); len(id) != 16 || fast.header.Get("X-Amz-Id-2") != want {
				t.Errorf("request id %q, x-amz-id-2 %q; want 16 hex digits and %q", id, fast.header.Get("X-Amz-Id-2"), want)
			}
		})
	}
}
