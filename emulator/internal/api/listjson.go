package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// appendListJSON appends the body of a listing, {"files":[...]}, exactly as
// json.Marshal would write it for the same fileEntry values, without
// reflection and with one buffer: a listing of 100 000 files is its hot path.
func appendListJSON(b []byte, entries []store.Entry) []byte {
	b = append(b, `{"files":[`...)
	var lastSec int64 = -1 << 62
	var lastTime []byte
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, e.Name)
		b = append(b, `,"path":`...)
		b = appendJSONString(b, e.Path)
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, `,"modified":"`...)
		// Many files share a second: format each second once.
		if sec := e.Modified.Unix(); sec != lastSec {
			lastSec = sec
			lastTime = e.Modified.UTC().Truncate(time.Second).AppendFormat(lastTime[:0], timeFormat)
		}
		b = append(b, lastTime...)
		b = append(b, `","is_directory":`...)
		b = strconv.AppendBool(b, e.IsDir)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendJSONString appends s quoted as encoding/json quotes it: '"', '\\',
// '<', '>' and '&' escaped as it escapes them, other printable ASCII
// copied, and anything else (control characters, non-ASCII) through
// encoding/json itself.
func appendJSONString(b []byte, s string) []byte { return appendQuoted(b, s, true) }

// appendJSONStringNoHTML is appendJSONString without the HTML escapes
// ('<', '>' and '&' as themselves), as an Encoder with SetEscapeHTML(false)
// writes it: the same JSON string. A signed URL holds five '&', and a
// client decodes a string without escapes about twice as fast.
func appendJSONStringNoHTML(b []byte, s string) []byte { return appendQuoted(b, s, false) }

func appendQuoted(b []byte, s string, html bool) []byte {
	plain := &plainJSON
	if html {
		plain = &plainJSONHTML
	}
	orig := len(b)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain[c] {
			continue
		}
		var esc string
		switch c {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '<':
			esc = `\u003c`
		case '>':
			esc = `\u003e`
		case '&':
			esc = `\u0026`
		default:
			// A control character or non-ASCII: encoding/json decides
			// (its escapes, and what it does with invalid UTF-8).
			return appendQuotedSlow(b[:orig], s, html)
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendQuotedSlow is appendQuoted through encoding/json.
func appendQuotedSlow(b []byte, s string, html bool) []byte {
	var q bytes.Buffer
	enc := json.NewEncoder(&q)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil { // a string always encodes
		return append(b, `""`...)
	}
	return append(b, bytes.TrimSuffix(q.Bytes(), []byte("\n"))...)
}

// plainJSON marks the bytes a JSON string holds as themselves when HTML
// is not escaped: printable ASCII but '"' and '\\'; plainJSONHTML is
// plainJSON without '<', '>' and '&'.
var plainJSON, plainJSONHTML = func() (p, h [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		p[c] = c != '"' && c != '\\'
		h[c] = p[c] && c != '<' && c != '>' && c != '&'
	}
	return p, h
}()

// appendSignedJSON appends sr as json.Marshal writes it (header names
// sorted) but without HTML escapes (appendJSONStringNoHTML), without
// reflection: it is every upload_url's answer.
func appendSignedJSON(b []byte, sr signedResponse) []byte {
	b = append(b, `{"url":`...)
	b = appendJSONStringNoHTML(b, sr.URL)
	b = append(b, `,"method":`...)
	b = appendJSONStringNoHTML(b, sr.Method)
	b = append(b, `,"headers":`...)
	if sr.Headers == nil {
		b = append(b, "null"...)
	} else {
		var few [4]string // the few headers a signed URL asks for: no allocation
		keys := few[:0]
		for k := range sr.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONStringNoHTML(b, k)
			b = append(b, ':')
			b = appendJSONStringNoHTML(b, sr.Headers[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"expires_at":`...)
	b = appendJSONStringNoHTML(b, sr.ExpiresAt)
	return append(b, '}')
}
