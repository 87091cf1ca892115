// Strict JSON (SPEC E-2, P-1): what encoding/json lets through silently.
//
// encoding/json matches object keys to struct fields case-insensitively (so
// {"path":"f","PATH":"x"} writes "x"), keeps the last of duplicate keys, and
// turns invalid UTF-8 inside strings into U+FFFD. A client with such a body
// has a bug that production may treat differently, so checkJSON walks the
// body once before it is decoded and refuses each of these with a 400 that
// names the field.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxCheckDepth bounds the walk's recursion; deeper values are skipped
// whole (the decoder has its own depth limit, and the final UTF-8 check of
// the body still covers them).
const maxCheckDepth = 64

// errGiveUp ends the walk without a verdict: the body is not valid JSON, and
// the decoder explains why better.
var errGiveUp = errors.New("not JSON")

// checkJSON refuses a body that would decode into a value of type t only
// by bending the rules: a key that matches a field of t only when case is
// ignored, a field given twice, invalid UTF-8 in a key or a string. It
// returns nil for a body that is not JSON at all (decoding then reports it).
func checkJSON(data []byte, t reflect.Type) error {
	c := &checker{data: data, dec: json.NewDecoder(bytes.NewReader(data)), utf8OK: utf8.Valid(data)}
	c.dec.UseNumber()
	err := c.value(t, "", 0)
	if errors.Is(err, errGiveUp) {
		return nil
	}
	if err != nil {
		return err
	}
	if !c.utf8OK {
		// Invalid bytes the walk did not reach: after the value, or deeper
		// than maxCheckDepth.
		i := firstInvalidUTF8(data)
		return validationf("request body is not valid UTF-8 (invalid byte at offset %d)", i)
	}
	return nil
}

type checker struct {
	data   []byte
	dec    *json.Decoder
	utf8OK bool // the whole body is valid UTF-8: no string needs checking
}

// value checks the next JSON value, to be decoded into t (nil: ignored by
// the decoder, or a leaf); field is its name for messages.
func (c *checker) value(t reflect.Type, field string, depth int) error {
	t = deref(t)
	known := t != nil && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map || t.Kind() == reflect.Slice) && !isLeaf(t)
	if depth >= maxCheckDepth || (!known && c.utf8OK) {
		var skip json.RawMessage
		if err := c.dec.Decode(&skip); err != nil {
			return errGiveUp
		}
		return nil
	}
	before := c.dec.InputOffset()
	tok, err := c.dec.Token()
	if err != nil {
		return errGiveUp
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return c.object(t, field, depth+1)
		case '[':
			var elem reflect.Type
			if t != nil && t.Kind() == reflect.Slice {
				elem = t.Elem()
			}
			for c.dec.More() {
				if err := c.value(elem, field+"[]", depth+1); err != nil {
					return err
				}
			}
			if _, err := c.dec.Token(); err != nil {
				return errGiveUp
			}
		}
	case string:
		if !c.utf8OK && !utf8.Valid(c.data[before:c.dec.InputOffset()]) {
			return validationf("%s must be valid UTF-8; it holds an invalid byte sequence", fieldName(field))
		}
	}
	return nil
}

// object checks the members of an object (its '{' already read).
func (c *checker) object(t reflect.Type, field string, depth int) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := map[string]bool{}
	for c.dec.More() {
		before := c.dec.InputOffset()
		tok, err := c.dec.Token()
		if err != nil {
			return errGiveUp
		}
		key, ok := tok.(string)
		if !ok {
			return errGiveUp
		}
		if !c.utf8OK && !utf8.Valid(c.data[before:c.dec.InputOffset()]) {
			if field == "" {
				return validationf("a key of the request body is not valid UTF-8")
			}
			return validationf("%s has a key that is not valid UTF-8", field)
		}
		child := elem
		if fields != nil {
			ft, exact := fields[key]
			switch {
			case exact && seen[key]:
				return validationf("%s is given twice; give each field once", fieldName(join(field, key)))
			case exact:
				seen[key] = true
				child = ft
			default:
				for name := range fields {
					if strings.EqualFold(name, key) {
						return validationf("key %q differs from the field %s only in case; JSON keys are case-sensitive: use %q",
							key, fieldName(join(field, name)), name)
					}
				}
			}
		}
		if err := c.value(child, join(field, key), depth); err != nil {
			return err
		}
	}
	if _, err := c.dec.Token(); err != nil {
		return errGiveUp
	}
	return nil
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func fieldName(f string) string {
	if f == "" {
		return "the request body"
	}
	return f
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	numberType     = reflect.TypeFor[json.Number]()
)

// isLeaf reports types the decoder fills from any JSON value as a whole.
func isLeaf(t reflect.Type) bool {
	return t == rawMessageType || t == numberType || t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields returns the JSON names of a struct's fields (with embedded
// structs' fields promoted, as encoding/json does) and their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addFields(t, m, 0)
	fieldCache.Store(t, m)
	return m
}

// addFields adds t's own fields first, then those of its embedded structs,
// so a shallower field wins a name, as in encoding/json.
func addFields(t reflect.Type, m map[string]reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if ft := deref(f.Type); ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := m[name]; !dup {
			m[name] = f.Type
		}
	}
	for _, ft := range embedded {
		addFields(ft, m, depth+1)
	}
}

// firstInvalidUTF8 returns the offset of the first byte that is not part of
// valid UTF-8.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
