// Package numbers decides which tracking phone number a visit is shown and
// who held a number at a given moment, so an inbound call can be tied to the
// visit that caused it.
//
// A site shows either a static number per traffic source or a number leased
// from a dynamic pool. A [Rule] says which visits a number or pool is for;
// [Choose] picks the winning rule by explicit priority, then by how specific
// the rule is.
//
// A [Pool] is a fixed set of numbers, one slot each. A visitor who matches the
// pool's rule leases one slot: the lease lives for the pool's reservation time
// after the visitor's last activity, and every [Pool.Acquire] by the same
// visitor while it lives renews it and keeps the same number, across pages and
// sessions. Once it lapses the slot is free for the next visitor. When every
// slot is held, Acquire fails with [ErrExhausted] and the pool counts the miss;
// the caller shows the pool's fallback number and [EstimateSize] tells the
// owner how many numbers would have sufficed.
//
// The pool sits on the hit path, so it takes no lock: claiming, renewing and
// expiring a lease are atomic operations on the slot (see the invariant on
// [Pool]), and a renew allocates nothing. Time is an argument, never read
// from the clock, so the caller (and a test) decides what "now" is. The pool
// knows nothing of storage: the caller persists what Acquire returns and, on
// start, feeds the live leases back through [Pool.Restore].
package numbers
