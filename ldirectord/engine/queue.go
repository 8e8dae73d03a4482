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
// carries its sort key, so sifting through 10,000 entries reads one array
// rather than every check it compares.
type dueQueue []dueEntry

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

func (q dueQueue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].order < q[j].order
}

func (q dueQueue) swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].c.queued, q[j].c.queued = i, j
}

func (q dueQueue) up(j int) {
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
func (q dueQueue) down(i int) bool {
	i0 := i
	for {
		j := 2*i + 1
		if j >= len(q) {
			break
		}
		if r := j + 1; r < len(q) && q.less(r, j) {
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
	c.queued = len(*q)
	*q = append(*q, entry(c))
	q.up(c.queued)
}

// pop removes the earliest check.
func (q *dueQueue) pop() *chk {
	old := *q
	n := len(old) - 1
	old.swap(0, n)
	c := old[n].c
	old[n] = dueEntry{}
	*q = old[:n]
	q.down(0)
	c.queued = -1
	return c
}

// fix moves entry i to its place after its check's next changed.
func (q dueQueue) fix(i int) {
	q[i] = entry(q[i].c)
	if !q.down(i) {
		q.up(i)
	}
}

// requeue rebuilds the queue from e.checks (after load changed them).
func (e *Engine) requeue() {
	for _, en := range e.queue {
		en.c.queued = -1
	}
	e.queue = e.queue[:0]
	for i, c := range e.checks {
		c.order = i
		c.queued = -1
		if c.scheduled() {
			c.queued = len(e.queue)
			e.queue = append(e.queue, entry(c))
		}
	}
	for i := len(e.queue)/2 - 1; i >= 0; i-- {
		e.queue.down(i)
	}
}

// enqueue schedules c at c.next, or moves it there if it is queued.
func (e *Engine) enqueue(c *chk) {
	switch {
	case !c.scheduled():
	case c.queued >= 0 && c.queued < len(e.queue) && e.queue[c.queued].c == c:
		e.queue.fix(c.queued)
	default:
		e.queue.push(c)
	}
}

// popDue removes the checks due at now from the queue, in config order.
func (e *Engine) popDue(now time.Time) []*chk {
	var due []*chk
	for len(e.queue) > 0 && !e.queue[0].c.next.After(now) {
		due = append(due, e.queue.pop())
	}
	slices.SortFunc(due, func(a, b *chk) int { return a.order - b.order })
	return due
}
