package azure

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCurlWorkflow follows the seed's curl workflow: PUT the file sending
// exactly the headers the upload URL came with, then GET the download URL.
// 2 MiB makes curl send "Expect: 100-continue".
func TestCurlWorkflow(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	e := newEnv(t, nil)
	dir := t.TempDir()
	in := filepath.Join(dir, "input.json")
	data := bytes.Repeat([]byte(`{"k":"v"}`+"\n"), 2<<20/10)
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	up := e.signUpload("input.json", "application/json", int64(len(data)))
	args := []string{"-sS", "--fail-with-body", "-X", "PUT", up.URL}
	for k, v := range up.Headers {
		args = append(args, "-H", k+": "+v)
	}
	args = append(args, "--data-binary", "@"+in)
	if out, err := exec.CommandContext(t.Context(), curl, args...).CombinedOutput(); err != nil {
		t.Fatalf("curl PUT: %v: %s", err, out)
	}
	outFile := filepath.Join(dir, "output.json")
	if out, err := exec.CommandContext(t.Context(), curl, "-sS", "--fail-with-body", "-o", outFile, e.signDownload("input.json").URL).CombinedOutput(); err != nil {
		t.Fatalf("curl GET: %v: %s", err, out)
	}
	got, err := os.ReadFile(outFile)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes (err %v), want the %d uploaded", len(got), err, len(data))
	}

	// Without the x-ms-blob-type header the provider's refusal comes back.
	up = e.signUpload("other.json", "application/json", int64(len(data)))
	out, _ := exec.CommandContext(t.Context(), curl, "-sS", "-X", "PUT", up.URL, "-H", "Content-Type: application/json",
		"--data-binary", "@"+in, "-w", "\n%{http_code}").CombinedOutput()
	if !bytes.Contains(out, []byte("<Code>MissingRequiredHeader</Code>")) || !bytes.HasSuffix(out, []byte("\n400")) {
		t.Errorf("curl PUT without x-ms-blob-type: %s", out)
	}
}
