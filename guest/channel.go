package guest

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ChannelDevice is the guest end of the host channel: the second serial
// port, which every backend wires to its data channel.
const ChannelDevice = "/dev/ttyS1"

// OpenChannel opens the host channel in raw mode (no newline translation,
// no echo, 8-bit clean) and returns a record writer on it.
func OpenChannel() (*Writer, *os.File, error) {
	f, err := os.OpenFile(ChannelDevice, os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening host channel %s: %w", ChannelDevice, err)
	}
	if err := makeRaw(int(f.Fd())); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("host channel %s: %w", ChannelDevice, err)
	}
	return NewWriter(f), f, nil
}

func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("reading termios: %w", err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CRTSCTS
	t.Cflag |= unix.CS8 | unix.CLOCAL
	// Fastest standard rate; emulated UARTs ignore it, real ones would not.
	t.Cflag = t.Cflag&^unix.CBAUD | unix.B115200
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("setting raw mode: %w", err)
	}
	return nil
}
