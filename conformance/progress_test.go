package conformance

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	var live bytes.Buffer
	p := newProgress(&live, 3, false, true)
	p.done(CheckResult{Area: "list", Status: StatusPassed})
	p.done(CheckResult{Area: "upload", Status: StatusFailed})
	p.finish()
	if s := live.String(); !strings.Contains(s, "[list] 1/3 checks done, 0 failed") || !strings.Contains(s, "[upload] 2/3 checks done, 1 failed") {
		t.Errorf("terminal progress: %q", s)
	}
	var quiet bytes.Buffer
	p = newProgress(&quiet, 3, false, false)
	p.done(CheckResult{Area: "list", Status: StatusFailed})
	p.finish()
	if quiet.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", quiet.String())
	}
	if progressWanted(&quiet, func(string) string { return "" }) {
		t.Error("a buffer is not a terminal")
	}
}
