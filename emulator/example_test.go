package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// callWith sends a /v1 request with key and decodes the JSON answer.
func callWith(emu *emulator.Emulator, key, path string, body map[string]any) (int, map[string]any, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(http.MethodPost, emu.URL()+path, bytes.NewReader(data))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("decode %s answer: %w", path, err)
	}
	return resp.StatusCode, out, nil
}

// post sends a Files API request with the emulator's dev key; a request
// that fails or is refused ends the example.
func post(emu *emulator.Emulator, path string, body map[string]any) map[string]any {
	status, out, err := callWith(emu, emu.APIKey(), path, body)
	if err != nil {
		log.Fatal(err)
	}
	if status != http.StatusOK {
		log.Fatalf("%s: %d %v", path, status, out)
	}
	return out
}

// Upload through a signed URL, then read the file back directly.
func Example() {
	emu, err := emulator.Start(emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	data := []byte(`{"values": [1, 2, 3, 4, 5]}`)
	up := post(emu, "/v1/files/upload_url", map[string]any{
		"source": "thread", "id": "analysis-run-42", "path": "input.json",
		"content_type": "application/json", "content_length": len(data),
	})
	req, err := http.NewRequest(up["method"].(string), up["url"].(string), bytes.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	for k, v := range up["headers"].(map[string]any) {
		req.Header.Set(k, v.(string))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	stored, err := emu.ReadFile(emulator.Thread("analysis-run-42"), "input.json")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, string(stored))
	// Output: 200 {"values": [1, 2, 3, 4, 5]}
}

// Seed a file directly, then download it through a signed URL.
func ExampleEmulator_WriteFile() {
	emu, err := emulator.Start(emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	if err := emu.WriteFile(emulator.Volume("shared-data"), "data/output.csv", []byte("a,b\n1,2\n")); err != nil {
		log.Fatal(err)
	}
	down := post(emu, "/v1/files/download_url", map[string]any{
		"source": "volume", "id": "shared-data", "path": "data/output.csv",
	})
	resp, err := http.Get(down["url"].(string))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", body)
	// Output:
	// a,b
	// 1,2
}

// Move the clock past the 15 minutes a signed URL lives.
func ExampleEmulator_Clock() {
	emu, err := emulator.Start(emulator.Options{
		Clock: emulator.NewFrozenClock(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	if err := emu.WriteFile(emulator.Thread("t1"), "report.txt", []byte("done")); err != nil {
		log.Fatal(err)
	}
	down := post(emu, "/v1/files/download_url", map[string]any{"source": "thread", "id": "t1", "path": "report.txt"})
	fmt.Println("expires_at:", down["expires_at"])

	if err := emu.Clock().Advance(16 * time.Minute); err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(down["url"].(string))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("after 16 minutes:", resp.StatusCode)
	// Output:
	// expires_at: 2026-03-04T12:15:00Z
	// after 16 minutes: 400
}

// Build the tenants in Go: an organisation whose key is rate limited, with a
// read-only volume seeded with one file.
func ExampleConfig() {
	const key = "sk-us-YWNtZS10ZXN0LWtleQ"
	cfg := emulator.Config{
		Orgs: []emulator.Org{{
			ID:   "org_acme",
			Keys: []emulator.KeyConfig{{Key: key, RateLimit: &emulator.RateLimit{RPS: 1, Burst: 3}}},
			Volumes: []emulator.VolumeConfig{{
				Slug: "reference", ReadOnly: true,
				Files: map[string]string{"README.txt": "read me"},
			}},
		}},
	}
	// A frozen clock refills no tokens, so the fourth request is refused
	// however fast or slow the machine is.
	emu, err := emulator.Start(emulator.Options{
		Config: &cfg,
		Clock:  emulator.NewFrozenClock(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	for _, req := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/files/list", map[string]any{"source": "volume", "id": "reference"}},
		{"/v1/files/upload_url", map[string]any{"source": "volume", "id": "reference", "path": "new.txt", "content_length": 3}},
		{"/v1/files/download_url", map[string]any{"source": "volume", "id": "reference", "path": "README.txt"}},
		{"/v1/files/list", map[string]any{"source": "volume", "id": "reference"}},
	} {
		status, out, err := callWith(emu, key, req.path, req.body)
		if err != nil {
			log.Fatal(err)
		}
		switch {
		case out["files"] != nil:
			fmt.Println(req.path, status, len(out["files"].([]any)), "file")
		case out["error"] != nil:
			fmt.Println(req.path, status, out["error"])
		default:
			fmt.Println(req.path, status, out["method"])
		}
	}
	// Output:
	// /v1/files/list 200 1 file
	// /v1/files/upload_url 403 forbidden
	// /v1/files/download_url 200 GET
	// /v1/files/list 429 rate_limited
}
