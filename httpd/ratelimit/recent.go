package ratelimit

// recent maps keys to values and keeps them in the order they were last
// seen, so that a limiter at its bound forgets the key seen least
// recently in constant time. Not safe for concurrent use: the limiters
// hold their lock around it.
type recent[V any] struct {
	keys map[string]*entry[V]
	// root is the ring's sentinel: root.next was seen most recently,
	// root.prev least.
	root *entry[V]
}

type entry[V any] struct {
	key        string
	val        V
	prev, next *entry[V]
}

func newRecent[V any]() recent[V] {
	root := &entry[V]{}
	root.prev, root.next = root, root
	return recent[V]{keys: map[string]*entry[V]{}, root: root}
}

func (r *recent[V]) get(key string) *entry[V] { return r.keys[key] }

func (r *recent[V]) len() int { return len(r.keys) }

// add tracks key with v as seen now.
func (r *recent[V]) add(key string, v V) *entry[V] {
	e := &entry[V]{key: key, val: v}
	r.keys[key] = e
	r.link(e)
	return e
}

// seen makes e the most recently seen.
func (r *recent[V]) seen(e *entry[V]) {
	if r.root.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	r.link(e)
}

func (r *recent[V]) link(e *entry[V]) {
	e.prev, e.next = r.root, r.root.next
	r.root.next.prev = e
	r.root.next = e
}

// oldest is the entry seen least recently; nil when there is none.
func (r *recent[V]) oldest() *entry[V] {
	if r.root.prev == r.root {
		return nil
	}
	return r.root.prev
}

func (r *recent[V]) remove(e *entry[V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(r.keys, e.key)
}
