package engine

// queue.go: the scheduled checks in a min-heap by due time, so NextDue and
// Due cost O(log n) per check rather than a scan of every check (the
// daemon asks after every result: 10,000 reals every second).

import (
	"slices"
	"time"
)

// dueQueue holds exactly the checks that are scheduled (not off, not in
// flight), earliest next first, config order among equals. Each entry
// carries its sort key, and each check's place is kept in pos (by config
// order), so sifting through 10,000 entries reads and writes two dense
// arrays rather than every check it moves.
type dueQueue struct {
	heap []dueEntry
	pos  []int32 // by chk.order: the check's index in heap, -1 when not in it
}

type dueEntry struct {
	at    time.Duration // c.next as an offset from queueEpoch
	order int           // c.order
	c     *chk
}

// queueEpoch is the origin of the entries' keys. Offsets from it order as
// the times do (monotonic clock readings with monotonic ones, wall clock
// otherwise, as Time.Compare).
var queueEpoch = time.Now()

func entry(c *chk) dueEntry { return dueEntry{at: c.next.Sub(queueEpoch), order: c.order, c: c} }

func (q *dueQueue) len() int { return len(q.heap) }

// queued reports whether c is in the queue.
func (q *dueQueue) queued(c *chk) bool { return c.order < len(q.pos) && q.pos[c.order] >= 0 }

func (q *dueQueue) less(i, j int) bool {
	if q.heap[i].at != q.heap[j].at {
		return q.heap[i].at < q.heap[j].at
	}
	return q.heap[i].order < q.heap[j].order
}

func (q *dueQueue) swap(i, j int) {
	h := q.heap
	h[i], h[j] = h[j], h[i]
	q.pos[h[i].order], q.pos[h[j].order] = int32(i), int32(j)
}

func (q *dueQueue) up(j int) {
	for j > 0 {
		i := (j - 1) / 2 // parent
		if !q.less(j, i) {
			return
		}
		q.swap(i, j)
		j = i
	}
}

// down sifts entry i down; it reports whether it moved.
func (q *dueQueue) down(i int) bool {
	i0, n := i, len(q.heap)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && q.less(r, j) {
			j = r
		}
		if !q.less(j, i) {
			break
		}
		q.swap(i, j)
		i = j
	}
	return i > i0
}

func (q *dueQueue) push(c *chk) {
	i := len(q.heap)
	q.heap = append(q.heap, entry(c))
	q.pos[c.order] = int32(i)
	q.up(i)
}

// pop removes the earliest check.
func (q *dueQueue) pop() *chk {
	n := len(q.heap) - 1
	q.swap(0, n)
	c := q.heap[n].c
	q.heap[n] = dueEntry{}
	q.heap = q.heap[:n]
	q.down(0)
	q.pos[c.order] = -1
	return c
}

// fix moves c to its place after its next changed.
func (q *dueQueue) fix(c *chk) {
	i := int(q.pos[c.order])
	q.heap[i] = entry(c)
	if !q.down(i) {
		q.up(i)
	}
}

// requeue rebuilds the queue from e.checks (after load changed them).
func (e *Engine) requeue() {
	q := &e.queue
	clear(q.heap)
	q.heap = q.heap[:0]
	q.pos = slices.Grow(q.pos[:0], len(e.checks))[:len(e.checks)]
	for i, c := range e.checks {
		c.order = i
		q.pos[i] = -1
		if c.scheduled() {
			q.pos[i] = int32(len(q.heap))
			q.heap = append(q.heap, entry(c))
		}
	}
	for i := len(q.heap)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

// enqueue schedules c at c.next, or moves it there if it is queued.
func (e *Engine) enqueue(c *chk) {
	switch {
	case !c.scheduled():
	case e.queue.queued(c):
		e.queue.fix(c)
	default:
		e.queue.push(c)
	}
}

// popDue removes the checks due at now from the queue, in config order.
func (e *Engine) popDue(now time.Time) []*chk {
	var due []*chk
	for e.queue.len() > 0 && !e.queue.heap[0].c.next.After(now) {
		due = append(due, e.queue.pop())
	}
	slices.SortFunc(due, func(a, b *chk) int { return a.order - b.order })
	return due
}
