//go:build !linux

package projection

// adviseHugeHeap does nothing outside Linux (see hugepages_linux.go).
func adviseHugeHeap(n int) (start, end uintptr, err error) { return 0, 0, nil }
