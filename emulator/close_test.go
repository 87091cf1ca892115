package emulator_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// TestCloseCancelsRunningExecution: Close with a streamed execution of
// `sleep 60` in flight cancels it first, so the HTTP shutdown finds its
// request answered instead of waiting for the sandbox. The bound is a hang
// detector (the execution would run 60 s), not a speed assertion.
func TestCloseCancelsRunningExecution(t *testing.T) {
	emu, err := emulator.Start(emulator.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	body := `{"code": "echo started; sleep 60", "language": "bash", "timeout": 120}`
	req, _ := http.NewRequest(http.MethodPost, emu.URL()+"/v1/sandbox/execute", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+emu.APIKey())
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("execute: %d %s", resp.StatusCode, b)
	}
	events := bufio.NewScanner(resp.Body)
	for started := false; !started; {
		if !events.Scan() {
			t.Fatalf("stream ended before the code printed: %v", events.Err())
		}
		started = strings.Contains(events.Text(), `"started\n"`)
	}

	began := time.Now()
	closeErr := emu.Close()
	took := time.Since(began)
	t.Logf("Close with a running execution took %v", took)
	if closeErr != nil {
		t.Errorf("Close = %v; want nil (cancelling executions is part of closing)", closeErr)
	}
	if took > 3*time.Second {
		t.Errorf("Close took %v with a running execution; it waited instead of cancelling", took)
	}
	var last map[string]any
	for events.Scan() {
		if err := json.Unmarshal(events.Bytes(), &last); err != nil {
			t.Fatalf("event %q: %v", events.Text(), err)
		}
	}
	if last["event"] != "result" || last["status"] != "cancelled" {
		t.Errorf("last event %v; want the result with status cancelled", last)
	}
}

// TestCloseReportsDeadline: a request that is still running when
// Options.CloseTimeout ends (here an upload whose body stalls) makes Close
// return an error saying so, and Close still returns.
func TestCloseReportsDeadline(t *testing.T) {
	emu, err := emulator.Start(emulator.Options{DataDir: t.TempDir(), CloseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	_, signed, _, err := callJSON(emu, "/v1/files/upload_url", map[string]any{
		"source": "thread", "id": "t1", "path": "slow.bin", "content_length": 1000})
	if err != nil {
		t.Fatal(err)
	}
	u := signed["url"].(string)
	conn, err := net.Dial("tcp", strings.TrimPrefix(emu.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The headers, and once the handler reads the body (the server sends
	// 100 Continue then) 10 of 1000 bytes, then nothing: the handler waits
	// for the rest (the body idle timeout is a minute).
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n",
		strings.TrimPrefix(u, emu.URL()), strings.TrimPrefix(emu.URL(), "http://"))
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, "100") {
		t.Fatalf("want 100 Continue once the handler reads the body; got %q %v", status, err)
	}
	if _, err := conn.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	closeErr := emu.Close()
	took := time.Since(began)
	if !errors.Is(closeErr, context.DeadlineExceeded) {
		t.Errorf("Close = %v; want an error wrapping context.DeadlineExceeded", closeErr)
	}
	if took > 3*time.Second {
		t.Errorf("Close took %v; want about the 200ms CloseTimeout", took)
	}
	if again := emu.Close(); !errors.Is(again, context.DeadlineExceeded) {
		t.Errorf("second Close = %v; want the same error", again)
	}
}

// callJSON posts body to a /v1 path with the emulator's key.
func callJSON(emu *emulator.Emulator, path string, body map[string]any) (int, map[string]any, http.Header, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, emu.URL()+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+emu.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	err = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, resp.Header, err
}

// TestCloseDoesNotWaitForSilentConnections: a connection that was accepted
// but never sent a request (as Go's Transport leaves behind when concurrent
// requests race for connections) does not hold Close until CloseTimeout:
// http.Server.Shutdown alone counts it as busy for 5 seconds, longer than
// the default CloseTimeout, and Close reported "requests still running".
func TestCloseDoesNotWaitForSilentConnections(t *testing.T) {
	emu, err := emulator.Start(emulator.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	silent, err := net.Dial("tcp", strings.TrimPrefix(emu.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// The server accepts in order: once a later connection is answered,
	// the silent one has been accepted.
	resp, err := http.Get(emu.URL() + "/_emulator/info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := emu.Close(); err != nil {
		t.Errorf("Close = %v; want nil (the silent connection has no request to wait for)", err)
	}
	// The server closed the silent connection.
	if err := silent.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := silent.Read(make([]byte, 1)); err == nil {
		t.Errorf("read %d bytes from the silent connection after Close; want it closed", n)
	}
}
