package child

// protocol names what the emulator and a sandbox child binary say to each
// other (the environment, the descriptors, Config). Change it with any of
// them: the emulator runs only a separate child binary (--sandbox-binary)
// whose protocol is its own. A var so that tests can build a child of
// another protocol (-ldflags -X).
var protocol = "localbaponi-sandbox/1"

// Protocol is the protocol of this binary's child code.
func Protocol() string { return protocol }

// ProtocolQuery, as the value of Env, asks a child binary for its
// protocol: the child's code leaves it to the binary's main
// (./emulator/cmd/localbaponi-sandbox), which prints Protocol and its
// revision, one line each.
const ProtocolQuery = "protocol"
