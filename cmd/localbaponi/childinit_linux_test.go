//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSandboxChildStartsBeforeHeavyPackages re-executes this binary (it
// links what localbaponi links) as a sandbox child whose config pipe is
// empty, with GODEBUG=inittrace=1, and checks which package inits ran
// before the child gave up: none of the binary's heavy ones (the GCS SDK's
// protobuf registry and descriptors, the AWS SDK's schemas, the emulator's
// own packages, go-fuse). Every
// execution's child pays for the inits that run before it: in package
// sandbox, after ~190 of them, it cost ~4 ms of CPU a run more than here.
func TestSandboxChildStartsBeforeHeavyPackages(t *testing.T) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cfgW.Close() // the child reads EOF: "read sandbox config"
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"LOCALBAPONI_SANDBOX_CHILD=1", "GODEBUG=inittrace=1"}
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{cfgR, errW, null} // fds 3, 4, 5
	err = cmd.Run()
	cfgR.Close()
	errW.Close()
	msg := new(bytes.Buffer)
	msg.ReadFrom(errR)
	errR.Close()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 125 || !strings.Contains(msg.String(), "read sandbox config") {
		t.Fatalf("the child did not fail on its empty config: %v, %q\n%s", err, msg, stderr.String())
	}
	var inits []string
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 1 && f[0] == "init" {
			inits = append(inits, f[1])
		}
	}
	if len(inits) == 0 {
		t.Fatalf("no inittrace lines:\n%s", stderr.String())
	}
	for _, heavy := range []string{
		"google.golang.org/protobuf/reflect/protoregistry",
		"google.golang.org/protobuf/types/descriptorpb",
		"google.golang.org/genproto/googleapis/api/annotations",
		"github.com/aws/aws-sdk-go-v2/service/signin/schemas",
		"github.com/localbaponi/localbaponi/emulator/internal/tenancy",
		"github.com/localbaponi/localbaponi/emulator/internal/sandbox/spacefs",
		"github.com/hanwen/go-fuse/v2/fuse",
	} {
		for _, p := range inits {
			if p == heavy {
				t.Errorf("%s was initialized before the sandbox child started (%d inits before it)", heavy, len(inits))
			}
		}
	}
	t.Logf("%d package inits ran before the child", len(inits))
}
