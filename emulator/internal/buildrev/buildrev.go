// Package buildrev reads the source revision a binary was built from.
// It is its own package so that the sandbox child's package does not
// import runtime/debug: Go initializes packages that are ready in import
// path order, and one more dependency sorting after the cloud SDKs would
// let their inits run before the child's (TestSandboxChildStartsBeforeHeavyPackages).
package buildrev

import "runtime/debug"

// Revision is the VCS revision stamped into the running binary ("" when
// the build stamped none), with "+modified" when its tree had
// uncommitted changes.
func Revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	revision, modified := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision != "" && modified {
		revision += "+modified"
	}
	return revision
}
