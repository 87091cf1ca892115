package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/localbaponi/localbaponi/emulator"
)

// BenchmarkSmallUpload is the small-upload path: upload_url and a 1 KiB PUT
// to the URL. With no fault rule set it measures what the fault and
// journal layer costs on the hot path (compare with the same benchmark on
// a tree without it).
func BenchmarkSmallUpload(b *testing.B) {
	emu := emulator.RunT(b)
	data := bytes.Repeat([]byte("x"), 1024)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	req, _ := json.Marshal(map[string]any{"source": "thread", "id": "bench", "path": "small.bin",
		"content_type": "application/octet-stream", "content_length": len(data)})
	b.ResetTimer()
	for b.Loop() {
		r, _ := http.NewRequest("POST", emu.URL()+"/v1/files/upload_url", bytes.NewReader(req))
		r.Header.Set("Authorization", "Bearer "+emu.APIKey())
		resp, err := client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		var signed struct {
			URL     string
			Headers map[string]string
		}
		json.NewDecoder(resp.Body).Decode(&signed)
		resp.Body.Close()
		put, _ := http.NewRequest("PUT", signed.URL, bytes.NewReader(data))
		for k, v := range signed.Headers {
			put.Header.Set(k, v)
		}
		resp, err = client.Do(put)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("PUT: %s", resp.Status)
		}
	}
}
