package projection

// SetDefaultFlushEvery sets the durable stores' default FlushEvery until
// the returned restore is called.
func SetDefaultFlushEvery(n int) (restore func()) {
	prev := defaultFlushEvery
	defaultFlushEvery = n
	return func() { defaultFlushEvery = prev }
}
