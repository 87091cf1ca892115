package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// post sends a Files API request and decodes the JSON answer.
func post(emu *emulator.Emulator, path string, body map[string]any) map[string]any {
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, emu.URL()+path, bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+emu.APIKey())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// Upload through a signed URL, then read the file back directly.
func Example() {
	emu, err := emulator.Start(emulator.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()

	data := []byte(`{"values": [1, 2, 3, 4, 5]}`)
	up := post(emu, "/v1/files/upload_url", map[string]any{
		"source": "thread", "id": "analysis-run-42", "path": "input.json",
		"content_type": "application/json", "content_length": len(data),
	})
	req, _ := http.NewRequest(up["method"].(string), up["url"].(string), bytes.NewReader(data))
	for k, v := range up["headers"].(map[string]any) {
		req.Header.Set(k, v.(string))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	stored, _ := emu.ReadFile(emulator.Thread("analysis-run-42"), "input.json")
	fmt.Println(resp.StatusCode, string(stored))
	// Output: 200 {"values": [1, 2, 3, 4, 5]}
}

// Seed a file directly, then download it through a signed URL.
func ExampleEmulator_WriteFile() {
	emu, _ := emulator.Start(emulator.Options{})
	defer emu.Close()

	_ = emu.WriteFile(emulator.Volume("shared-data"), "data/output.csv", []byte("a,b\n1,2\n"))
	down := post(emu, "/v1/files/download_url", map[string]any{
		"source": "volume", "id": "shared-data", "path": "data/output.csv",
	})
	resp, _ := http.Get(down["url"].(string))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%s", body)
	// Output:
	// a,b
	// 1,2
}

// Move the clock past the 15 minutes a signed URL lives.
func ExampleEmulator_Clock() {
	emu, _ := emulator.Start(emulator.Options{
		Clock: emulator.NewFrozenClock(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)),
	})
	defer emu.Close()

	_ = emu.WriteFile(emulator.Thread("t1"), "report.txt", []byte("done"))
	down := post(emu, "/v1/files/download_url", map[string]any{"source": "thread", "id": "t1", "path": "report.txt"})
	fmt.Println("expires_at:", down["expires_at"])

	_ = emu.Clock().Advance(16 * time.Minute)
	resp, _ := http.Get(down["url"].(string))
	resp.Body.Close()
	fmt.Println("after 16 minutes:", resp.StatusCode)
	// Output:
	// expires_at: 2026-03-04T12:15:00Z
	// after 16 minutes: 400
}
