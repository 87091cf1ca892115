package api

import (
	"encoding/json"
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

// appendJSONString appends s quoted as encoding/json quotes it: printable
// ASCII other than '"', '\\', '<', '>' and '&' is copied, and anything else
// goes through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil { // a string always encodes
				return append(b, `""`...)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
