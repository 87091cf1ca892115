package mcp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
	"github.com/localbaponi/localbaponi/emulator/internal/mcp"
)

// nodeClientDir holds the TypeScript SDK client script, its package.json
// and lockfile; .ci/run installs node_modules there with npm ci.
const nodeClientDir = "testdata/mcp-node"

// TestTypeScriptSDKClient: the official TypeScript MCP SDK runs the seed's
// workflow through /mcp on every storage face (testdata/mcp-node/client.mjs).
func TestTypeScriptSDKClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node")
	}
	node, err := exec.LookPath("node")
	modules := filepath.Join(nodeClientDir, "node_modules", "@modelcontextprotocol", "sdk")
	_, statErr := os.Stat(modules)
	if err != nil || statErr != nil {
		reason := "node is not installed"
		if err == nil {
			reason = "the TypeScript SDK is not installed: run `npm ci` in emulator/internal/mcp/" + nodeClientDir
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: .ci/run must install it)", reason)
		}
		t.Skip(reason)
	}
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t, emulator.Options{Backend: backend})
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "client.mjs")
			cmd.Dir = nodeClientDir
			cmd.Env = append(os.Environ(), "BAPONI_BASE_URL="+emu.URL(), "BAPONI_API_KEY="+emu.APIKey())
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("node client.mjs: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
			}
			var out struct {
				Server          struct{ Name string } `json:"server"`
				ProtocolVersion string                `json:"protocol_version"`
				Tools           []string              `json:"tools"`
				Thread          string                `json:"thread"`
				TraceID         string                `json:"trace_id"`
				Stdout          string                `json:"stdout"`
				Download        string                `json:"download_base64"`
				Inline          *string               `json:"inline"`
				Progress        []string              `json:"progress_messages"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("client output %q: %v", stdout.String(), err)
			}
			if out.Server.Name != "localbaponi" || out.ProtocolVersion != mcp.ProtocolVersion ||
				!slices.Equal(out.Tools, []string{mcp.ToolDownload, mcp.ToolExecute}) || out.Stdout != seedStdout || !strings.HasPrefix(out.TraceID, "exec_") {
				t.Errorf("client saw %+v", out)
			}
			// It asked for progress: the output came as notifications too.
			if !strings.Contains(strings.Join(out.Progress, ""), seedStdout) {
				t.Errorf("progress messages %q lack the output", out.Progress)
			}
			got, err := base64.StdEncoding.DecodeString(out.Download)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := emu.ReadFile(emulator.Thread(out.Thread), "output.json")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != seedOutput || !bytes.Equal(got, stored) || out.Inline == nil || *out.Inline != seedOutput {
				t.Errorf("downloaded %q, inline %v; stored %q, want %q", got, out.Inline, stored, seedOutput)
			}
		})
	}
}
