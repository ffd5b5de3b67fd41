package telnet

// An OptionSet is a set of telnet options. The zero value is empty.
type OptionSet [4]uint64

// NewOptionSet returns the set of the given options.
func NewOptionSet(opts ...byte) OptionSet {
	var s OptionSet
	for _, o := range opts {
		s.Add(o)
	}
	return s
}

// Add puts opt in the set.
func (s *OptionSet) Add(opt byte) { s[opt>>6] |= 1 << (opt & 63) }

// Remove takes opt out of the set.
func (s *OptionSet) Remove(opt byte) { s[opt>>6] &^= 1 << (opt & 63) }

// Has reports whether opt is in the set.
func (s OptionSet) Has(opt byte) bool { return s[opt>>6]&(1<<(opt&63)) != 0 }
