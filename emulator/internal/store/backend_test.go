package store

import (
	"bytes"
	"io"
	"testing"
)

// nopSeekCloser is a bytes.Reader with a Close that records it was called.
type nopSeekCloser struct {
	*bytes.Reader
	closed bool
}

func (n *nopSeekCloser) Close() error { n.closed = true; return nil }

func TestNewReaderWriteToAndRange(t *testing.T) {
	data := []byte("0123456789")
	src := &nopSeekCloser{Reader: bytes.NewReader(data)}
	rd := NewReader(src, Object{Path: "a.txt", Size: int64(len(data))})
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rd); err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(data) {
		t.Fatalf("WriteTo wrote %q, want %q", buf.String(), data)
	}
	sec, err := rd.Range(3, 4)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(sec)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "3456" {
		t.Fatalf("Range(3, 4) read %q, want %q", got, "3456")
	}
	if err := sec.Close(); err != nil || !src.closed {
		t.Fatalf("closing the range: err %v, source closed %v", err, src.closed)
	}
}
