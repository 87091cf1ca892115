//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"runtime"
)

// nsRunner does not exist off Linux: there are no namespaces to enter.
type nsRunner struct{ view, viewWhy string }

func newNSRunner(*Runner) (*nsRunner, error) {
	return nil, errors.New("namespaces need Linux; this is " + runtime.GOOS)
}

func (*nsRunner) run(context.Context, Spec, *interp) (Result, error) {
	return Result{}, errors.New("sandbox: namespaces need Linux")
}

func (*nsRunner) close() error { return nil }

func (*nsRunner) memoryCgroup() bool { return false }

func (*nsRunner) chowns() bool { return false }

func (*nsRunner) probe() error { return errors.New("namespaces need Linux; this is " + runtime.GOOS) }

func chownsWhenRoot() bool { return false }

// childBinary: there is no sandbox child off Linux.
func childBinary(path string) (string, error) {
	if path != "" {
		return "", errors.New("sandbox: --sandbox-binary: sandbox children exist only on Linux")
	}
	return "", nil
}
