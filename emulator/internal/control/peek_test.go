package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzPeekTarget checks peekTarget.scan against json.Unmarshal: what scan
// takes, json.Unmarshal decodes without error into the same target.
func FuzzPeekTarget(f *testing.F) {
	for _, s := range []string{
		`{"source":"thread","id":"t","path":"a/b.csv"}`, `{"thread_id":"t","code":"x","timeout":5}`,
		`{"source":"thread","Source":"volume"}`, `{"id":"a","id":"b"}`, `{"id":null}`, `{"id":1}`, `{"x":{"y":1}}`,
		"{\"\u017fource\":\"v\"}", "{\"id\":\"\xff\"}", `{}`, `[]`, `null`, `{"id":"a"}x`, `{"path":"été"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, slow peekTarget
		if !fast.scan(body) {
			return
		}
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("scan took %q, which json.Unmarshal refuses: %v", body, err)
		}
		if fast != slow {
			t.Fatalf("scan(%q) = %+v, json.Unmarshal %+v", body, fast, slow)
		}
	})
}

// TestReadAheadReadsAsReadAll: readAhead returns what io.ReadAll of a
// LimitReader(peekMax) returns, whatever the declared length says (right,
// unknown, too small, too large), however the body is cut into reads, and
// with the body's read error.
func TestReadAheadReadsAsReadAll(t *testing.T) {
	for _, size := range []int{0, 1, 113, 511, 512, 513, 4096, peekMax - 1, peekMax, peekMax + 10} {
		data := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		for _, declared := range []int64{int64(size), -1, int64(size / 2), int64(size) + 100} {
			for _, cut := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.HalfReader,
				iotest.DataErrReader,
			} {
				want, werr := io.ReadAll(io.LimitReader(cut(bytes.NewReader(data)), peekMax))
				got, gerr := readAhead(cut(bytes.NewReader(data)), declared)
				if !bytes.Equal(got, want) || (gerr == nil) != (werr == nil) {
					t.Fatalf("size %d, declared %d: readAhead = %d bytes, %v; io.ReadAll %d bytes, %v", size, declared, len(got), gerr, len(want), werr)
				}
			}
		}
	}
	boom := errors.New("boom")
	got, err := readAhead(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 10)
	if string(got) != "abc" || !errors.Is(err, boom) {
		t.Errorf("readAhead of a failing body = %q, %v; want \"abc\", boom", got, err)
	}
}
