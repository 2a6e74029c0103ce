package main

import (
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ktstr-go/ktstr/internal/term"
)

// env is what commands read and write: the process's streams and what
// kind of streams they are. main fills it from the process; tests give
// buffers, and terminals by setting the fields.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// tty: stdout is a terminal; color: one that takes ANSI colours
	// (NO_COLOR unset).
	tty, color bool
	// interactive: stdin and stderr are terminals, so a question can be
	// asked and answered.
	interactive bool
	// liveStatus: stderr is a terminal, so a status line can be rewritten
	// in place; otherwise progress is a line every so often.
	liveStatus bool
	// logColor: stderr is a terminal that takes colours.
	logColor bool
}

func processEnv() *env {
	return &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		tty:         term.IsTerminal(os.Stdout),
		color:       term.Color(os.Stdout),
		interactive: term.IsTerminal(os.Stdin) && term.IsTerminal(os.Stderr),
		liveStatus:  term.IsTerminal(os.Stderr),
		logColor:    term.Color(os.Stderr),
	}
}

// logger logs to stderr at info level, or at KTSTR_LOG's: a time, the
// level and the message with its fields; no caller, no stack traces (a
// warning is advice to a user, not a crash report).
func (e *env) logger() *zap.Logger {
	level := zap.InfoLevel
	if l := os.Getenv("KTSTR_LOG"); l != "" {
		_ = level.Set(l)
	}
	return e.loggerAt(level)
}

// loggerAt is logger at a given level (a -v flag's debug).
func (e *env) loggerAt(level zapcore.Level) *zap.Logger {
	cfg := zap.NewDevelopmentEncoderConfig()
	cfg.CallerKey, cfg.StacktraceKey = "", ""
	cfg.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05")
	cfg.EncodeLevel = zapcore.CapitalLevelEncoder
	if e.logColor {
		cfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(cfg), zapcore.AddSync(e.stderr), level)
	return zap.New(core)
}

// ANSI colours for verdict words on a terminal.
const (
	ansiRed    = "\033[31m"
	ansiGreen  = "\033[32m"
	ansiYellow = "\033[33m"
	ansiReset  = "\033[0m"
)

// paint colours a verdict word (PASS, FAIL, MISMATCH, ok, ...) for stdout
// when it is a terminal; word may carry padding, which stays inside.
func (e *env) paint(word string) string {
	if !e.color {
		return word
	}
	c := ""
	switch strings.TrimSpace(word) {
	case "PASS", "ok", "matches":
		c = ansiGreen
	case "FAIL", "MISMATCH", "REJECTED", "ERROR":
		c = ansiRed
	case "FLAKY", "SKIP", "INCONCLUSIVE", "LOADER-GAP":
		c = ansiYellow
	}
	if c == "" {
		return word
	}
	return c + word + ansiReset
}
