package topology

// NodeDistance is the distance between NUMA nodes a and b that every VM
// describes to its guest (ACPI SLIT, QEMU's -numa dist): 10 to itself,
// 20 to any other node, the ACPI values for local and one hop away.
func NodeDistance(a, b int) int {
	if a == b {
		return 10
	}
	return 20
}
