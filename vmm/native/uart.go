package native

import "sync"

// uart is a 16550A as the Linux 8250 driver sees it: transmit completes
// at once, receive is a byte queue, and the interrupt line follows IIR
// the way QEMU's serial device does, so the driver's autoconfig, THRE
// test and interrupt-driven TX all work.
//
// Except for one thing: after txBudget bytes the next IIR or LSR read
// finds the transmitter busy, and only then empty, with a THRE
// interrupt. The 8250 interrupt handler loops while the UART reports
// work, up to 512 passes of a 16-byte FIFO load, all with interrupts
// off; a THR that is always empty kept a CPU there for up to 8 KiB of
// port writes, each a VM exit. Under nested emulation that was over
// half a second of a guest CPU without its tick at the end of most
// runs, as the data channel carried the final records (a stall for the
// host monitor). Now one handler run sends at most txBudget bytes, and
// the CPU takes its other interrupts before the next.
type uart struct {
	mu     sync.Mutex
	irq    uint32
	setIRQ func(irq uint32, level bool)
	out    func(b byte)

	ier, lcr, mcr, scr, fcr uint8
	dll, dlm                uint8
	rx                      []byte
	thrPending              bool // a THR-empty interrupt is pending
	line                    bool // current IRQ line level
	txFill                  int  // bytes written since the transmitter was last busy
}

const (
	uartRBR = 0 // also THR, DLL
	uartIER = 1 // also DLM
	uartIIR = 2 // write: FCR
	uartLCR = 3
	uartMCR = 4
	uartLSR = 5
	uartMSR = 6
	uartSCR = 7

	ierRDI  = 0x01
	ierTHRI = 0x02
	iirNone = 0x01
	iirTHRI = 0x02
	iirRDI  = 0x04
	lcrDLAB = 0x80
	mcrLoop = 0x10
	lsrDR   = 0x01
	lsrTHRE = 0x20
	lsrTEMT = 0x40
)

// txBudget is how many bytes the transmitter takes before it reports
// itself busy once: 16 FIFO loads of the 16550A. It bounds a handler
// run at a few hundred port writes, at the cost of one more interrupt
// per 256 bytes (a sixteenth of what a budget of one FIFO load costs).
const txBudget = 256

// txFull reports that the budget is spent; must hold mu.
func (u *uart) txFull() bool { return u.txFill >= txBudget }

// statusRead is the transmitter's side of an IIR or LSR read, after the
// value was taken: a full transmitter drains now, and says so by
// interrupt; must hold mu.
func (u *uart) statusRead() {
	if u.txFull() {
		u.txFill = 0
		u.thrPending = u.ier&ierTHRI != 0
	}
}

func newUART(irq uint32, setIRQ func(uint32, bool), out func(byte)) *uart {
	return &uart{irq: irq, setIRQ: setIRQ, out: out, dll: 1}
}

func (u *uart) iir() uint8 {
	v := uint8(iirNone)
	switch {
	case u.ier&ierRDI != 0 && len(u.rx) > 0:
		v = iirRDI
	case u.ier&ierTHRI != 0 && u.thrPending:
		v = iirTHRI
	}
	if u.fcr&0x01 != 0 {
		v |= 0xc0 // FIFOs enabled: the driver then knows a 16550A
	}
	return v
}

// update drives the IRQ line from the pending state; must hold mu.
func (u *uart) update() {
	level := u.iir()&iirNone == 0
	if level != u.line {
		u.line = level
		u.setIRQ(u.irq, level)
	}
}

func (u *uart) read(off uint16) uint8 {
	u.mu.Lock()
	defer u.mu.Unlock()
	defer u.update()
	switch off {
	case uartRBR:
		if u.lcr&lcrDLAB != 0 {
			return u.dll
		}
		if len(u.rx) == 0 {
			return 0
		}
		b := u.rx[0]
		u.rx = u.rx[1:]
		return b
	case uartIER:
		if u.lcr&lcrDLAB != 0 {
			return u.dlm
		}
		return u.ier
	case uartIIR:
		v := u.iir()
		if v&0x0f == iirTHRI {
			u.thrPending = false // reading IIR acknowledges THR empty
		}
		u.statusRead()
		return v
	case uartLCR:
		return u.lcr
	case uartMCR:
		return u.mcr
	case uartLSR:
		var v uint8
		if !u.txFull() {
			v = lsrTHRE | lsrTEMT
		}
		if len(u.rx) > 0 {
			v |= lsrDR
		}
		u.statusRead()
		return v
	case uartMSR:
		if u.mcr&mcrLoop != 0 {
			// Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
			m := u.mcr
			return (m&0x01)<<5 | (m&0x02)<<3 | (m&0x04)<<4 | (m&0x08)<<4
		}
		return 0xb0 // DCD, DSR, CTS
	case uartSCR:
		return u.scr
	}
	return 0xff
}

func (u *uart) write(off uint16, v uint8) {
	u.mu.Lock()
	defer u.mu.Unlock()
	defer u.update()
	switch off {
	case uartRBR:
		if u.lcr&lcrDLAB != 0 {
			u.dll = v
			return
		}
		if u.mcr&mcrLoop != 0 {
			u.rx = append(u.rx, v)
		} else {
			u.out(v)
		}
		u.txFill++
		u.thrPending = !u.txFull()
	case uartIER:
		if u.lcr&lcrDLAB != 0 {
			u.dlm = v
			return
		}
		changed := (u.ier ^ v) & 0x0f
		u.ier = v & 0x0f
		if changed&ierTHRI != 0 {
			u.thrPending = u.ier&ierTHRI != 0
		}
	case uartIIR:
		u.fcr = v & 0xc9
		if v&0x02 != 0 {
			u.rx = nil // clear receive FIFO
		}
	case uartLCR:
		u.lcr = v
	case uartMCR:
		u.mcr = v & 0x1f
	case uartSCR:
		u.scr = v
	}
}

// receive queues input bytes (console keyboard input).
func (u *uart) receive(p []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.rx = append(u.rx, p...)
	u.update()
}
