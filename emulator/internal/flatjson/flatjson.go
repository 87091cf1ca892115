// Package flatjson scans the small, flat JSON objects that most API request
// bodies are ({"source":"thread","id":"t","path":"a.csv","content_length":5})
// in one pass and without allocating, so that the hot paths need not run
// encoding/json (and the strict pre-scan) on them.
//
// It is a fast path only: Scan accepts a body only when it understands all of
// it — one object whose keys are plain strings and whose values are strings,
// numbers, true, false or null — and says so, and callers hand every other
// body (nested values, escapes, invalid UTF-8, syntax errors) to their
// general decoder, which then decides exactly as it did before. What Scan
// accepts is valid JSON, so the general decoder would have seen the same
// members.
package flatjson

import "unicode/utf8"

// Kind is the type of a member's value.
type Kind uint8

// The kinds of value Scan passes on.
const (
	String Kind = iota + 1
	Number
	True
	False
	Null
)

// Value is one member's value. Raw is the value's JSON text (a string with
// its quotes); for a String, Str holds its content, which needs no
// unescaping (Scan gives up on strings with escapes).
type Value struct {
	Kind Kind
	Raw  []byte
	Str  []byte
}

// Scan calls member for each member of the object in data, in order, and
// reports whether data is one flat object that it understood whole: false
// if it is anything else, or if member returned false (the caller gave up).
// Keys and values alias data. Members are reported as they are read, so
// member may have been called before Scan returns false.
func Scan(data []byte, member func(key []byte, v Value) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return atEnd(data, i+1)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		ks, ke, ok := plainString(data, i)
		if !ok {
			return false
		}
		i = skipSpace(data, ke+1)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		v, end, ok := value(data, i)
		if !ok || !member(data[ks:ke], v) {
			return false
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return atEnd(data, i+1)
		default:
			return false
		}
	}
}

// atEnd reports whether only whitespace follows offset i.
func atEnd(data []byte, i int) bool { return skipSpace(data, i) == len(data) }

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainString reads the string whose opening quote is at i: it returns the
// bounds of its content (the closing quote is at end). ok is false for a
// string with an escape, a control character, invalid UTF-8 or no end.
func plainString(data []byte, i int) (start, end int, ok bool) {
	start = i + 1
	ascii := true
	for j := start; j < len(data); j++ {
		c := data[j]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(data[start:j]) {
				return 0, 0, false
			}
			return start, j, true
		case c == '\\' || c < 0x20:
			return 0, 0, false
		case c >= 0x80:
			ascii = false
		}
	}
	return 0, 0, false
}

// value reads the value at i and returns it and the offset after it.
func value(data []byte, i int) (Value, int, bool) {
	if i >= len(data) {
		return Value{}, 0, false
	}
	switch c := data[i]; {
	case c == '"':
		s, e, ok := plainString(data, i)
		if !ok {
			return Value{}, 0, false
		}
		return Value{Kind: String, Raw: data[i : e+1], Str: data[s:e]}, e + 1, true
	case c == '-' || c >= '0' && c <= '9':
		e, ok := number(data, i)
		if !ok {
			return Value{}, 0, false
		}
		return Value{Kind: Number, Raw: data[i:e]}, e, true
	case c == 't':
		return literal(data, i, "true", True)
	case c == 'f':
		return literal(data, i, "false", False)
	case c == 'n':
		return literal(data, i, "null", Null)
	}
	return Value{}, 0, false
}

func literal(data []byte, i int, word string, k Kind) (Value, int, bool) {
	e := i + len(word)
	if e > len(data) || string(data[i:e]) != word {
		return Value{}, 0, false
	}
	return Value{Kind: k, Raw: data[i:e]}, e, true
}

// number reads a JSON number (RFC 8259 grammar) at i and returns the offset
// after it.
func number(data []byte, i int) (int, bool) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		i = digits(data, i)
	default:
		return 0, false
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(data []byte, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}
