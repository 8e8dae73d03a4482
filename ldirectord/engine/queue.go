package engine

// queue.go: the scheduled checks in a min-heap by due time, so NextDue and
// Due cost O(log n) per check rather than a scan of every check (the
// daemon asks after every result: 10,000 reals every second).

import (
	"container/heap"
	"slices"
	"time"
)

// dueQueue holds exactly the checks that are scheduled (not off, not in
// flight), earliest next first, config order among equals.
type dueQueue []*chk

func (q dueQueue) Len() int { return len(q) }

func (q dueQueue) Less(i, j int) bool {
	if c := q[i].next.Compare(q[j].next); c != 0 {
		return c < 0
	}
	return q[i].order < q[j].order
}

func (q dueQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].queued, q[j].queued = i, j
}

func (q *dueQueue) Push(x any) {
	c := x.(*chk)
	c.queued = len(*q)
	*q = append(*q, c)
}

func (q *dueQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	c.queued = -1
	return c
}

// requeue rebuilds the queue from e.checks (after load changed them).
func (e *Engine) requeue() {
	for _, c := range e.queue {
		c.queued = -1
	}
	e.queue = e.queue[:0]
	for i, c := range e.checks {
		c.order = i
		c.queued = -1
		if c.scheduled() {
			c.queued = len(e.queue)
			e.queue = append(e.queue, c)
		}
	}
	heap.Init(&e.queue)
}

// enqueue schedules c at c.next, or moves it there if it is queued.
func (e *Engine) enqueue(c *chk) {
	switch {
	case !c.scheduled():
	case c.queued >= 0 && c.queued < len(e.queue) && e.queue[c.queued] == c:
		heap.Fix(&e.queue, c.queued)
	default:
		heap.Push(&e.queue, c)
	}
}

// popDue removes the checks due at now from the queue, in config order.
func (e *Engine) popDue(now time.Time) []*chk {
	var due []*chk
	for len(e.queue) > 0 && !e.queue[0].next.After(now) {
		due = append(due, heap.Pop(&e.queue).(*chk))
	}
	slices.SortFunc(due, func(a, b *chk) int { return a.order - b.order })
	return due
}
