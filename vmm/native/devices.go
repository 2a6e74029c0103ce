package native

import (
	"encoding/binary"
	"time"

	"github.com/ktstr-go/ktstr/vmm"
	"github.com/ktstr-go/ktstr/vmm/x86"
)

// pvpanicGrace is how long a guest that reported a panic may take to
// print it and reboot before the VMM stops it.
const pvpanicGrace = 3 * time.Second

// handleIO emulates the VM's port I/O devices.
func (m *machine) handleIO(v *vcpuThread) {
	io := v.IO()
	data, err := v.IOData(io)
	if err != nil {
		m.stop(vmm.ExitCrash, err.Error())
		return
	}
	for i := 0; i < io.Count; i++ {
		b := data[i*io.Size : (i+1)*io.Size]
		if io.Out {
			m.out(io.Port, b)
		} else {
			m.in(io.Port, b)
		}
	}
}

func (m *machine) in(port uint16, b []byte) {
	for i := range b {
		b[i] = 0xff
	}
	switch {
	case port >= 0x3f8 && port < 0x400:
		b[0] = m.com1.read(port - 0x3f8)
	case port >= 0x2f8 && port < 0x300:
		b[0] = m.com2.read(port - 0x2f8)
	case port >= x86.PM1aEvtPort && port < x86.PM1aEvtPort+2:
		clear(b) // status: nothing ever happens
	case port == x86.PM1aEvtPort+2:
		putLE(b, uint64(m.pm1En.Load()))
	case port == x86.PM1aCntPort:
		putLE(b, uint64(m.pm1Cnt.Load()|x86.PM1SciEn)) // always in ACPI mode
	case port == x86.PMTimerPort:
		// 3.579545 MHz since boot.
		putLE(b, uint64(time.Since(m.started).Nanoseconds())*3579545/1e9)
	case port == x86.PvpanicPort:
		b[0] = 0x03 // supports PANICKED and CRASH_LOADED
	case port == 0x64:
		b[0] = 0 // i8042 status: no data, input buffer empty
	case port == 0x71:
		b[0] = m.cmos(uint8(m.cmosIdx.Load()))
	}
}

func (m *machine) out(port uint16, b []byte) {
	switch {
	case port >= 0x3f8 && port < 0x400:
		m.com1.write(port-0x3f8, b[0])
	case port >= 0x2f8 && port < 0x300:
		m.com2.write(port-0x2f8, b[0])
	case port == x86.PM1aCntPort && len(b) >= 2:
		v := uint32(binary.LittleEndian.Uint16(b))
		m.pm1Cnt.Store(v &^ x86.PM1SlpEn)
		if v&x86.PM1SlpEn != 0 && (v>>10)&7 == x86.S5SleepType {
			m.stop(vmm.ExitClean, "guest powered off (ACPI S5)")
		}
	case port == x86.PM1aEvtPort+2 && len(b) >= 2:
		// ACPICA checks that enable bits (e.g. GBL_EN) stick.
		m.pm1En.Store(uint32(binary.LittleEndian.Uint16(b)))
	case port == x86.PvpanicPort:
		if b[0]&1 != 0 && m.panicked.CompareAndSwap(false, true) {
			// The panic message is still on its way to the console; the
			// guest reboots (panic=-1) once it is out. Stop anyway if it
			// does not (panic=0 would hang).
			time.AfterFunc(pvpanicGrace, func() { m.stop(vmm.ExitPanic, "guest kernel panicked (pvpanic)") })
		}
	case port == x86.ResetRegPort && len(b) == 1:
		if b[0]&0x04 != 0 {
			m.stop(vmm.ExitReboot, "guest rebooted (reset register)")
		}
	case port == 0x64:
		if b[0] == 0xfe {
			m.stop(vmm.ExitReboot, "guest rebooted (keyboard controller reset)")
		}
	case port == 0x70:
		m.cmosIdx.Store(uint32(b[0] & 0x7f))
	}
}

// cmos answers the RTC registers the kernel may poll: no update in
// progress, valid time, 24-hour binary mode, all-zero date.
func (m *machine) cmos(idx uint8) uint8 {
	switch idx {
	case 0x0a:
		return 0x26 // UIP clear
	case 0x0b:
		return 0x06 // 24h, binary
	case 0x0d:
		return 0x80 // valid RAM and time
	}
	return 0
}

func putLE(b []byte, v uint64) {
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
}
