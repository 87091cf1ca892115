// The fast path of decodeJSONBytes: most bodies are small flat objects of
// strings and numbers, which flatjson reads in one pass. A body it does not
// take whole goes through checkJSON and encoding/json as before, and so does
// any body whose decoding could differ from theirs: a key that is not an
// exact field name but matches one when case is folded, a field given twice,
// a value that does not fit its field's type.
package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/localbaponi/localbaponi/emulator/internal/flatjson"
)

// flatKind is how the fast path stores a value in a field.
type flatKind uint8

const (
	flatString    flatKind = iota + 1 // string
	flatStringPtr                     // *string
	flatRaw                           // json.RawMessage
	flatBool                          // bool
)

type flatField struct {
	name  string
	index []int
	kind  flatKind
}

// flatFields are the fields of a struct the fast path can fill, or nil if
// it should not try the struct at all.
type flatFields struct {
	fields []flatField
	// names holds every JSON name of the struct, for the case check.
	names []string
}

var flatCache sync.Map // reflect.Type → *flatFields

// maxFlatMembers bounds the members the fast path takes; a longer body
// goes the general way.
const maxFlatMembers = 16

// decodeFlat decodes data into dst (a pointer to a struct) if it is a flat
// object that decodes exactly as checkJSON and encoding/json would decode
// it, and reports whether it did; dst is untouched when it did not.
func decodeFlat(data []byte, dst any) bool {
	// The Files API's bodies, without reflection (decodeSlots).
	switch d := dst.(type) {
	case *uploadRequest:
		slots := [...]flatSlot{{str: &d.Source}, {str: &d.ID}, {str: &d.Path}, {str: &d.ContentType}, {raw: &d.ContentLength}}
		return decodeSlots(data, uploadNames[:], slots[:])
	case *sourceRequest:
		slots := [...]flatSlot{{str: &d.Source}, {str: &d.ID}, {str: &d.Path}}
		return decodeSlots(data, uploadNames[:len(slots)], slots[:])
	}
	return decodeFlatReflect(data, dst)
}

// uploadNames are the JSON names of uploadRequest's fields, those of
// sourceRequest first; TestFlatSlotsMatchTheStructs holds them to the tags.
var uploadNames = [...]string{"source", "id", "path", "content_type", "content_length"}

// flatSlot is where decodeSlots puts one member: a *string field, or a
// json.RawMessage one.
type flatSlot struct {
	str **string
	raw *json.RawMessage
}

// decodeSlots is decodeFlatReflect for a struct whose JSON names are names
// (all of them) and whose fields are slots, in the same order: the same
// decisions (flatjson's body, exact names, no name given twice, an unknown
// name only if it is ASCII and matches none when case is folded, strings
// or null for a *string) and the same values, without reflection.
func decodeSlots(data []byte, names []string, slots []flatSlot) bool {
	var vals [len(uploadNames)]flatjson.Value
	var given [len(uploadNames)]bool
	ok := flatjson.Scan(data, func(key []byte, v flatjson.Value) bool {
		i := 0
		for i < len(names) && names[i] != string(key) {
			i++
		}
		if i == len(names) {
			if !isASCII(key) {
				return false
			}
			for _, name := range names {
				if strings.EqualFold(name, string(key)) {
					return false
				}
			}
			return true
		}
		if given[i] {
			return false // given twice: the general path refuses it
		}
		if slots[i].str != nil && v.Kind != flatjson.String && v.Kind != flatjson.Null {
			return false
		}
		given[i], vals[i] = true, v
		return true
	})
	if !ok {
		return false
	}
	// As decodeFlatReflect: one copy of a small body backs every string,
	// one array every *string.
	str := bodyStrings(data)
	var ptrs []string
	for i, sl := range slots {
		if !given[i] {
			continue
		}
		v := vals[i]
		switch {
		case sl.str != nil && v.Kind == flatjson.Null:
			*sl.str = nil
		case sl.str != nil:
			if ptrs == nil {
				ptrs = make([]string, 0, len(slots))
			}
			ptrs = append(ptrs, str(v.Str))
			*sl.str = &ptrs[len(ptrs)-1]
		default:
			*sl.raw = append(json.RawMessage(nil), v.Raw...)
		}
	}
	return true
}

// decodeFlatReflect is decodeFlat for any struct, through reflection.
func decodeFlatReflect(data []byte, dst any) bool {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return false
	}
	ff := flatFieldsOf(rv.Elem().Type())
	if ff == nil {
		return false
	}
	type set struct {
		f *flatField
		v flatjson.Value
	}
	var sets [maxFlatMembers]set
	n := 0
	ok := flatjson.Scan(data, func(key []byte, v flatjson.Value) bool {
		f := ff.lookup(key)
		if f == nil {
			// An unknown key is ignored, unless it names a field the fast
			// path cannot fill, or a field in another case (refused by
			// checkJSON), or is not ASCII (where folding rules could
			// differ): then the general path decides.
			return isASCII(key) && !ff.foldMatch(key)
		}
		for _, s := range sets[:n] {
			if s.f == f {
				return false // given twice: the general path refuses it
			}
		}
		switch f.kind {
		case flatString, flatStringPtr:
			if v.Kind != flatjson.String && v.Kind != flatjson.Null {
				return false
			}
		case flatBool:
			if v.Kind != flatjson.True && v.Kind != flatjson.False && v.Kind != flatjson.Null {
				return false
			}
		}
		if n == len(sets) {
			return false
		}
		sets[n] = set{f, v}
		n++
		return true
	})
	if !ok {
		return false
	}
	// One copy of a small body backs every string, and one array every
	// *string.
	str := bodyStrings(data)
	var ptrs []string
	sv := rv.Elem()
	for _, s := range sets[:n] {
		fv := sv.FieldByIndex(s.f.index)
		switch s.f.kind {
		case flatString:
			if s.v.Kind == flatjson.String {
				fv.SetString(str(s.v.Str))
			}
		case flatStringPtr:
			if s.v.Kind == flatjson.Null {
				fv.SetZero()
				break
			}
			if ptrs == nil {
				ptrs = make([]string, 0, n)
			}
			ptrs = append(ptrs, str(s.v.Str))
			fv.Set(reflect.ValueOf(&ptrs[len(ptrs)-1]))
		case flatRaw:
			fv.SetBytes(append([]byte(nil), s.v.Raw...))
		case flatBool:
			if s.v.Kind != flatjson.Null {
				fv.SetBool(s.v.Kind == flatjson.True)
			}
		}
	}
	return true
}

func (ff *flatFields) lookup(key []byte) *flatField {
	for i := range ff.fields {
		if ff.fields[i].name == string(key) {
			return &ff.fields[i]
		}
	}
	return nil
}

// foldMatch reports whether key equals one of the struct's JSON names,
// exactly or when case is ignored.
func (ff *flatFields) foldMatch(key []byte) bool {
	for _, name := range ff.names {
		if strings.EqualFold(name, string(key)) {
			return true
		}
	}
	return false
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

var (
	stringType    = reflect.TypeFor[string]()
	stringPtrType = reflect.TypeFor[*string]()
	boolType      = reflect.TypeFor[bool]()
)

// flatFieldsOf returns (and caches) what the fast path needs to know of t.
// A struct with a field it cannot fill still takes the fast path for bodies
// that do not name that field: such a field is left out of fields (a body
// naming it gives up) but kept in names.
func flatFieldsOf(t reflect.Type) *flatFields {
	if v, ok := flatCache.Load(t); ok {
		return v.(*flatFields)
	}
	ff := &flatFields{}
	if !collectFlat(t, nil, ff, map[string]bool{}, 0) {
		ff = nil
	}
	flatCache.Store(t, ff)
	return ff
}

// collectFlat adds t's fields, then those of its embedded structs; it
// reports false for a struct where two fields share a JSON name (which
// encoding/json ranks by depth and tags: the general path handles those).
func collectFlat(t reflect.Type, index []int, ff *flatFields, seen map[string]bool, depth int) bool {
	if depth > 8 {
		return false
	}
	type emb struct {
		t     reflect.Type
		index []int
	}
	var embedded []emb
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(append([]int(nil), index...), i)
		if f.Anonymous && name == "" {
			if f.Type.Kind() == reflect.Struct {
				embedded = append(embedded, emb{f.Type, idx})
				continue
			}
			if deref(f.Type).Kind() == reflect.Struct {
				return false // filling it would allocate the embedded struct
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if seen[name] {
			return false
		}
		seen[name] = true
		ff.names = append(ff.names, name)
		var kind flatKind
		switch {
		case strings.Contains(opts, "string"):
			// ",string" changes how the value is read: never fast.
		case f.Type == stringType:
			kind = flatString
		case f.Type == stringPtrType:
			kind = flatStringPtr
		case f.Type == rawMessageType:
			kind = flatRaw
		case f.Type == boolType:
			kind = flatBool
		}
		if kind != 0 {
			ff.fields = append(ff.fields, flatField{name: name, index: idx, kind: kind})
		}
	}
	for _, e := range embedded {
		if !collectFlat(e.t, e.index, ff, seen, depth+1) {
			return false
		}
	}
	return true
}

// bodyStrings returns the strings of a body's values (slices of data):
// one copy of a small body backs them all; a big body is not kept alive
// by a short field, each gets its own.
func bodyStrings(data []byte) func([]byte) string {
	var text string
	return func(b []byte) string {
		if len(b) == 0 {
			return ""
		}
		if len(data) > 1<<10 {
			return string(b)
		}
		if text == "" {
			text = string(data)
		}
		off := cap(data) - cap(b) // b is a slice of data
		return text[off : off+len(b)]
	}
}
