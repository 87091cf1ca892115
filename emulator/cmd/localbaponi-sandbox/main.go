// Command localbaponi-sandbox is the sandbox child of localbaponi's
// execute, as a binary of its own: `localbaponi --sandbox-binary PATH`
// runs it to build each sandbox instead of re-executing itself. It holds
// only the child's code (about 3 MB against the emulator's 70), so each
// child starts in less CPU: the Go runtime of a large binary registers
// thousands of interface tables and faults in pages all over it before
// any code runs. Build it from the same source as the emulator:
//
//	go build -o localbaponi ./cmd/localbaponi
//	go build -o localbaponi-sandbox ./emulator/cmd/localbaponi-sandbox
//	./localbaponi --sandbox-binary "$PWD/localbaponi-sandbox"
//
// It does nothing on its own: the child's code runs in its package's
// init when the emulator starts it; main only answers the emulator's
// question for its protocol and source revision.
package main

import (
	"fmt"
	"os"

	"github.com/localbaponi/localbaponi/emulator/internal/buildrev"
	"github.com/localbaponi/localbaponi/emulator/internal/sandbox/child"
)

func main() {
	if os.Getenv(child.Env) == child.ProtocolQuery {
		fmt.Printf("%s\n%s\n", child.Protocol(), buildrev.Revision())
		return
	}
	fmt.Fprintf(os.Stderr, "localbaponi-sandbox (%s %s) is started by localbaponi --sandbox-binary, not by hand\n", child.Protocol(), buildrev.Revision())
	os.Exit(2)
}
