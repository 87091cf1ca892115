package reqlog

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecorderKeepsFirstStatusAndCountsBytes(t *testing.T) {
	w := httptest.NewRecorder()
	rec := NewRecorder(w)
	if rec.StatusOr200() != http.StatusOK || rec.Status != 0 {
		t.Fatalf("fresh recorder: Status %d, StatusOr200 %d", rec.Status, rec.StatusOr200())
	}
	rec.WriteHeader(http.StatusTeapot)
	rec.WriteHeader(http.StatusOK) // superfluous: must not change Status
	n1, _ := rec.Write([]byte("abc"))
	n2, _ := rec.ReadFrom(strings.NewReader("defg"))
	if rec.Status != http.StatusTeapot || rec.Bytes != int64(n1)+n2 || rec.Bytes != 7 {
		t.Fatalf("Status %d Bytes %d; want 418 and 7", rec.Status, rec.Bytes)
	}
	if w.Body.String() != "abcdefg" || w.Code != http.StatusTeapot {
		t.Fatalf("underlying writer got %d %q", w.Code, w.Body)
	}
}

func TestRecorderBodyWithoutHeaderIs200AndFlushReachesWriter(t *testing.T) {
	w := httptest.NewRecorder()
	rec := NewRecorder(w)
	if _, err := rec.ReadFrom(strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Fatalf("Flush through the recorder: %v", err)
	}
	if rec.Status != http.StatusOK || !w.Flushed {
		t.Fatalf("Status %d, flushed %v; want 200 and true", rec.Status, w.Flushed)
	}
}
