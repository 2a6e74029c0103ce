package main

import (
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger logs to stderr at info level, or at KTSTR_LOG's level.
func newLogger() *zap.Logger {
	level := zap.InfoLevel
	if l := os.Getenv("KTSTR_LOG"); l != "" {
		_ = level.Set(l)
	}
	cfg := zap.NewDevelopmentConfig()
	cfg.Level = zap.NewAtomicLevelAt(level)
	cfg.DisableStacktrace = true
	cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	if fi, err := os.Stderr.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
	}
	lg, err := cfg.Build()
	if err != nil {
		return zap.NewNop()
	}
	return lg
}
