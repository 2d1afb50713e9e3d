package postgres

// SetCopyThreshold makes s stage tables of n rows or more with COPY (1: every
// write is copied; a huge n: none is), so that tests cover both write paths.
// Call it before s is shared.
func SetCopyThreshold(s *Store, n int) { s.copyThreshold = n }

// Migrations is the number of embedded migrations.
func Migrations() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}
