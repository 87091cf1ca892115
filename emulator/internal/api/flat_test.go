package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// decodeGeneral is decodeJSONBytes without the fast path.
func decodeGeneral(data []byte, dst any) error {
	if err := checkJSON(data, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return errDataAfter
	}
	return nil
}

var errDataAfter = validationf("data after the value")

// FuzzDecodeFlat checks the fast path against the general one: whatever
// decodeFlat takes, the general path accepts too and decodes into the same
// value; whatever it leaves, it leaves untouched.
func FuzzDecodeFlat(f *testing.F) {
	for _, s := range []string{
		`{"source":"thread","id":"t","path":"a/b.csv"}`,
		`{"source":"thread","id":"t","path":"f","PATH":"x","content_length":5}`,
		`{"source":"volume","id":"v","path":"f","content_type":"text/plain","content_length":10737418240}`,
		`{"source":null,"id":"t","content_length":-0.5e+3}`, `{"content_length":"5"}`, `{"content_length":true}`,
		`{"code":"print(1)","language":"python","thread_id":"t","timeout":5,"env_vars":{"A":"b"}}`,
		"{\"path\":\"a\xffb\"}", `{"org":"o","slug":"s","read_only":true}`, `{"read_only":null}`, `{"advance":"16m"}`,
		`{"id":"t","id":"u"}`, `[]`, `null`, `{}`, ` { } `, `{"a":1}x`, `{"a":01}`, `{"a":1.}`, `{"x":"\u00e9"}`,
		"{\"\u017fource\":1}", `{"Source":"thread"}`, `{"sourcE":"x","id":"y"}`, "{\"p\u00e4th\":\"x\"}", `{"timeout":5}`,
		`{"path":"été/ß.txt","id":"t"}`, "{\"id\":\"a\tb\"}", `{"id":"a\"b"}`, `{"files":{}}`, `{"a":nul}`, `{"a":tru}`,
	} {
		for i := range requestTypes {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		mk := requestTypes[int(which)%len(requestTypes)]
		fast, general := mk(), mk()
		took := decodeFlat(body, fast)
		if !took {
			if !reflect.DeepEqual(fast, mk()) {
				t.Fatalf("decodeFlat(%q) gave up but changed dst to %+v", body, fast)
			}
			return
		}
		if err := decodeGeneral(body, general); err != nil {
			t.Fatalf("decodeFlat took %q, which the general path refuses: %v", body, err)
		}
		if !reflect.DeepEqual(fast, general) {
			t.Fatalf("decodeFlat(%q) = %+v, general path %+v", body, fast, general)
		}
	})
}

func TestDecodeFlatTakesCommonBodies(t *testing.T) {
	for _, body := range []string{
		`{"source":"thread","id":"t","path":"a/b.csv"}`,
		`{"source":"thread","id":"bench","path":"data/input.json","content_type":"application/json","content_length":1024}`,
		` {"source" : "volume", "id":"v", "path":null} `,
	} {
		var req uploadRequest
		if !decodeFlat([]byte(body), &req) {
			t.Errorf("decodeFlat(%s) = false, want the fast path", body)
		}
	}
	for _, body := range []string{
		`{"source":"thread","SOURCE":"x"}`, `{"id":"a","id":"b"}`, `{"id":"a\u0062"}`, `{"id":["x"]}`, `{"id":1}`,
		"{\"id\":\"\xff\"}", `{"id":"x"} {}`, `{"content_length":{"a":1}}`,
	} {
		var req uploadRequest
		if decodeFlat([]byte(body), &req) {
			t.Errorf("decodeFlat(%s) = true, want the general path", body)
		}
	}
}

// TestPlainMediaType: what the shortcut takes, mime.ParseMediaType takes too.
func TestPlainMediaType(t *testing.T) {
	for _, ct := range []string{"application/json", "text/plain", "a/b", "x-y/z.w+json", "a/b/c", "a/", "/b", "a b/c",
		"a/b;c=d", "a/b\r\n", "é/b", "a/b ", "(a)/b", "*/*", "a/b=", "application/vnd.ms-excel"} {
		if plainMediaType(ct) && !validMediaType(ct) {
			t.Errorf("plainMediaType(%q) = true, but mime.ParseMediaType refuses it", ct)
		}
	}
	if !plainMediaType("application/json") {
		t.Error("plainMediaType(application/json) = false")
	}
}

// TestFlatSlotsMatchTheStructs: decodeSlots, the Files API's fast path
// without reflection, names uploadRequest's and sourceRequest's fields as
// their tags do, and decides and decodes every body as decodeFlatReflect
// does.
func TestFlatSlotsMatchTheStructs(t *testing.T) {
	for _, c := range []struct {
		v any
		n int
	}{{uploadRequest{}, len(uploadNames)}, {sourceRequest{}, 3}} {
		ff := flatFieldsOf(reflect.TypeOf(c.v))
		if ff == nil {
			t.Fatalf("%T: no fast path", c.v)
		}
		if got, want := slices.Sorted(slices.Values(ff.names)), slices.Sorted(slices.Values(uploadNames[:c.n])); !slices.Equal(got, want) {
			t.Fatalf("%T: JSON names %v, decodeSlots uses %v", c.v, got, want)
		}
	}
	bodies := []string{
		`{"source":"thread","id":"t","path":"a/b.csv"}`,
		`{"source":"thread","id":"bench","path":"data/input.json","content_type":"application/json","content_length":1024}`,
		` {"source" : "volume", "id":"v", "path":null} `, `{"source":null,"id":"t","content_length":-0.5e+3}`,
		`{"content_length":"5"}`, `{"content_length":true}`, `{"content_length":null}`, `{"content_type":5}`,
		`{"source":"thread","SOURCE":"x"}`, `{"id":"a","id":"b"}`, `{"id":"a\u0062"}`, `{"id":["x"]}`, `{"id":1}`,
		"{\"id\":\"\xff\"}", `{"id":"x"} {}`, `{"content_length":{"a":1}}`, `{"other":1,"id":"x"}`,
		"{\"p\u00e4th\":\"x\"}", `{"Content_Length":1}`, `{"id":""}`, `{}`, `[]`, `null`,
		`{"path":"` + strings.Repeat("x", 2000) + `","id":"big"}`,
	}
	for _, body := range bodies {
		for _, mk := range []func() any{func() any { return new(uploadRequest) }, func() any { return new(sourceRequest) }} {
			slots, refl := mk(), mk()
			gotOK, wantOK := decodeFlat([]byte(body), slots), decodeFlatReflect([]byte(body), refl)
			if gotOK != wantOK || !reflect.DeepEqual(slots, refl) {
				t.Errorf("%T %s: decodeSlots %v %+v, decodeFlatReflect %v %+v", slots, body, gotOK, slots, wantOK, refl)
			}
		}
	}
}
