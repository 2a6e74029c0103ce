package main

import (
	"errors"
	"fmt"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
)

// Exit codes, the same for every command (documented in `ktstr help` and
// the README). 125 is what `git bisect run` takes as "cannot test this
// commit": a bisect over kernels or schedulers skips a commit that does
// not build or boot instead of calling it bad.
const (
	exitPass         = 0
	exitFail         = 1 // the scheduler failed its checks; never anything else
	exitUsage        = 2
	exitCouldNotTest = 125 // no kernel, a build failed, the VM could not start
	exitInterrupted  = 130
)

const exitCodesHelp = `Exit codes:
  0    pass (or the command did what it was asked)
  1    the scheduler failed its checks: a test failed, a matrix row did not
       get its expected verdict, the verifier rejected a program, stats
       compare found a regression
  2    usage error: an unknown command, flag or argument, a bad value
  125  could not test: no kernel, a build failed, the VM could not start or
       crashed, the guest skipped the test or its verdict was inconclusive
       (git bisect run skips such a commit)
  130  interrupted
  shell --exec exits with the command's own status.`

// exitError is an error that decides the exit code. A nil err exits with
// code silently: the command printed what it had to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usagef is a usage error (exit 2); its message should say the fix.
func usagef(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// usageErr marks err as a usage error.
func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

// exitCode ends a command with code, having printed everything.
func exitCode(code int) error {
	if code == exitPass {
		return nil
	}
	return &exitError{code: code}
}

// ranError classifies an error a command returned from its work: a kernel
// identifier that can never resolve is a usage error, anything not
// already classified means the command could not test.
func ranError(err error) error {
	var xe *exitError
	var se *kernel.SpecError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &xe):
		return err
	case errors.As(err, &se):
		return usageErr(err)
	}
	return &exitError{code: exitCouldNotTest, err: err}
}

// verdictExit maps a run's verdict to the exit code: a VMM crash, a
// skip or an inconclusive run tested nothing.
func verdictExit(res *ktstr.Result) int {
	switch res.Verdict {
	case verdict.Pass:
		return exitPass
	case verdict.Fail:
		if res.Exit.Reason == vmm.ExitCrash {
			return exitCouldNotTest
		}
		return exitFail
	}
	return exitCouldNotTest
}
