package native

import "testing"

// TestUARTAsThe8250DriverProbesIt replays what drivers/tty/serial/8250
// does at autoconfig and startup and during interrupt-driven transmit.
func TestUARTAsThe8250DriverProbesIt(t *testing.T) {
	var out []byte
	var irqs []bool
	u := newUART(4, func(irq uint32, level bool) {
		if irq != 4 {
			t.Fatalf("irq %d raised, want 4", irq)
		}
		irqs = append(irqs, level)
	}, func(b byte) { out = append(out, b) })

	// Scratch/IER test: IER keeps the low 4 bits.
	u.write(uartIER, 0)
	if got := u.read(uartIER); got != 0 {
		t.Fatalf("IER after 0 = %#x", got)
	}
	u.write(uartIER, 0x0f)
	if got := u.read(uartIER) & 0x0f; got != 0x0f {
		t.Fatalf("IER after 0x0f = %#x", got)
	}
	u.write(uartIER, 0)
	// Loopback test: MCR LOOP|RTS|OUT2 must read back as CTS|DCD.
	u.write(uartMCR, mcrLoop|0x0a)
	if got := u.read(uartMSR) & 0xf0; got != 0x90 {
		t.Fatalf("MSR in loopback = %#x, want 0x90", got)
	}
	u.write(uartMCR, 0)
	// FIFO enabled reads as 16550A in IIR[7:6].
	u.write(uartIIR, 0x01)
	if got := u.read(uartIIR) >> 6; got != 3 {
		t.Fatalf("IIR FIFO bits = %d, want 3", got)
	}
	// Divisor latch does not disturb IER.
	u.write(uartLCR, lcrDLAB)
	u.write(uartRBR, 0x01)
	u.write(uartIER, 0x00)
	u.write(uartLCR, 0x03)
	if len(out) != 0 {
		t.Fatalf("divisor write leaked to output: %q", out)
	}
	// Enabling THRI with an empty THR raises the line; reading IIR acks it.
	if len(irqs) == 0 || irqs[len(irqs)-1] {
		t.Fatalf("line not low after IER=0: %v", irqs)
	}
	irqs = nil
	u.write(uartIER, ierTHRI)
	if len(irqs) != 1 || !irqs[0] {
		t.Fatalf("enabling THRI: irq history %v, want [true]", irqs)
	}
	if got := u.read(uartIIR) & 0x0f; got != iirTHRI {
		t.Fatalf("IIR = %#x, want THRI", got)
	}
	if irqs[len(irqs)-1] {
		t.Fatal("IRQ still high after IIR read")
	}
	if got := u.read(uartIIR) & 0x0f; got != iirNone {
		t.Fatalf("second IIR read = %#x, want no interrupt", got)
	}
	// Each transmitted byte leaves THR empty and interrupts again.
	for _, b := range []byte("hi") {
		u.write(uartRBR, b)
		if !irqs[len(irqs)-1] {
			t.Fatalf("no interrupt after writing %q", b)
		}
		u.read(uartIIR)
	}
	if string(out) != "hi" {
		t.Fatalf("output %q", out)
	}
	if lsr := u.read(uartLSR); lsr&(lsrTHRE|lsrTEMT) != lsrTHRE|lsrTEMT || lsr&lsrDR != 0 {
		t.Fatalf("LSR = %#x", lsr)
	}
	// Receive with RDI enabled.
	u.write(uartIER, ierRDI)
	u.receive([]byte("x"))
	if !irqs[len(irqs)-1] || u.read(uartLSR)&lsrDR == 0 || u.read(uartIIR)&0x0f != iirRDI {
		t.Fatal("received byte not signalled")
	}
	if b := u.read(uartRBR); b != 'x' {
		t.Fatalf("RBR = %q", b)
	}
	if irqs[len(irqs)-1] {
		t.Fatal("IRQ still high after draining RX")
	}
}

// TestUARTInterruptBudget replays the 8250 driver's interrupt handler
// (serial8250_interrupt: handle_irq passes of one 16-byte FIFO load
// until the UART reports no work, at most 512) sending a long buffer:
// each interrupt must send at most txBudget bytes and leave the line
// raised for the next, so a CPU never stays in the handler for more.
func TestUARTInterruptBudget(t *testing.T) {
	const fifoLoad = 16 // the 16550A's tx_loadsz
	var out []byte
	line := false
	u := newUART(3, func(_ uint32, level bool) { line = level }, func(b byte) { out = append(out, b) })
	u.write(uartIIR, 0x01) // FIFOs on: a 16550A

	want := make([]byte, 5000)
	for i := range want {
		want[i] = byte(i)
	}
	xmit := want
	// handleIRQ is one serial8250_handle_irq pass: IIR, LSR, MSR, then
	// a FIFO load while the buffer lasts (stopping TX when empty).
	handleIRQ := func() bool {
		if u.read(uartIIR)&iirNone != 0 {
			return false
		}
		lsr := u.read(uartLSR)
		u.read(uartMSR)
		if lsr&lsrTHRE != 0 && u.ier&ierTHRI != 0 {
			for n := 0; n < fifoLoad && len(xmit) > 0; n++ {
				u.write(uartRBR, xmit[0])
				xmit = xmit[1:]
			}
			if len(xmit) == 0 {
				u.write(uartIER, u.ier&^ierTHRI) // __stop_tx
			}
		}
		return true
	}
	u.write(uartIER, ierTHRI) // start_tx
	interrupts := 0
	for line && interrupts < 1000 {
		interrupts++
		before := len(out)
		for pass := 0; pass <= 512 && handleIRQ(); pass++ {
		}
		if sent := len(out) - before; sent > txBudget {
			t.Fatalf("interrupt %d sent %d bytes in one handler run, want at most %d", interrupts, sent, txBudget)
		}
	}
	if string(out) != string(want) {
		t.Fatalf("sent %d bytes (%d interrupts), want all %d in order", len(out), interrupts, len(want))
	}
	if wantN := (len(want) + txBudget - 1) / txBudget; interrupts != wantN {
		t.Errorf("%d interrupts, want %d (one per %d bytes)", interrupts, wantN, txBudget)
	}
	// A polling writer (the console: LSR before every byte) finds the
	// THR busy once per budget, and empty on the next look.
	u.write(uartIER, 0)
	busy := 0
	for range 4 * txBudget {
		for u.read(uartLSR)&lsrTHRE == 0 {
			if busy++; busy > 4*txBudget {
				t.Fatal("THR stays busy for a polling writer")
			}
		}
		u.write(uartRBR, 'x')
	}
	if busy != 4 {
		t.Errorf("a polling writer of %d bytes found the THR busy %d times, want 4", 4*txBudget, busy)
	}
}
