// Package term answers the two questions output code asks about a
// stream: is it a terminal (so a live status line or a prompt makes
// sense), and may it be coloured.
package term

import (
	"os"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether f is a terminal: it answers the terminal
// ioctl. A character device is not enough (/dev/null is one).
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Color reports whether output to f may carry ANSI colours: f is a
// terminal, NO_COLOR (https://no-color.org) is unset or empty, and TERM
// is not "dumb".
func Color(f *os.File) bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && IsTerminal(f)
}
