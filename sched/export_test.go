package sched

// HashSet exposes the hashed visited set's table to the external tests.
type HashSet struct{ t *hashTable }

// NewHashSet returns an empty table.
func NewHashSet() HashSet { return HashSet{newHashTable()} }

// Add stores k and reports whether it was new.
func (h HashSet) Add(k [2]uint64) bool { return h.t.add(k) }

// Has reports whether k is stored.
func (h HashSet) Has(k [2]uint64) bool { h.t.warm(k); return h.t.has(k) }

// Len returns the number of keys stored.
func (h HashSet) Len() int { return h.t.n }
