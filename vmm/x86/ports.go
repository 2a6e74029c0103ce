package x86

// The VM's fixed I/O ports: the ACPI tables (acpi.go) describe them to the
// guest, and a VMM's device model answers them.
const (
	PM1aEvtPort  = 0x600 // PM1a event block: status + enable, 2+2 bytes
	PM1aCntPort  = 0x604 // PM1a control, 2 bytes: SLP_TYP and SLP_EN
	PMTimerPort  = 0x608 // 32-bit ACPI PM timer, 3.579545 MHz
	ResetRegPort = 0xcf9 // ACPI reset register (also the PIIX reset port)
	PvpanicPort  = 0x505 // pvpanic (QEMU0001 in the DSDT)
)

// Bits and values of the PM1a control register.
const (
	S5SleepType = 5       // SLP_TYP for S5 (power off), as \_S5 in the DSDT says
	PM1SlpEn    = 1 << 13 // SLP_EN: enter the sleep state in SLP_TYP
	PM1SciEn    = 1 << 0  // SCI_EN: the platform is in ACPI mode
)
