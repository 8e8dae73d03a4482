// Delivery of cluster messages and status changes to signed-on clients.
package api

import (
	"strings"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// Deliver hands an accepted cluster message (a peer's or our own) or a
// status change (NodeDeadMessage, LinkStatusMessage) to the signed-on
// clients whose filter includes TreatKeep, like classic heartbeat_monitor
// with KEEPIT. A message with to_id goes only to the client of that name.
// A query-cstatus is answered here (respond-cstatus through
// State.SendClusterMessage) and not delivered.
//
// Deliver never blocks on a client: each has a bounded queue (see
// DefaultSendQLen) and messages beyond it are dropped and counted. It
// encodes msg before returning and does not keep it.
func (s *Server) Deliver(msg *wire.Message) { s.DeliverAs(msg, TreatKeep) }

// DeliverAs is Deliver for a message the daemon treated as t; only clients
// whose setfilter mask includes t get it. The daemon uses TreatNoChange for
// a status message that changed nothing, TreatDrop and TreatDuplicate for
// messages it discards, TreatProtocol for retransmission traffic.
func (s *Server) DeliverAs(msg *wire.Message, t Treatment) {
	if t == TreatKeep && msg.Type() == TypeQueryCStatus {
		s.answerQuery(msg)
		return
	}
	toID, addressed := msg.Lookup(FieldToID)
	var targets []*conn
	s.mu.Lock()
	if addressed {
		if c := s.clients[toID]; c != nil {
			targets = append(targets, c)
		}
	} else {
		for _, c := range s.clients {
			targets = append(targets, c)
		}
	}
	s.mu.Unlock()
	wanted := targets[:0]
	for _, c := range targets {
		c.mu.Lock()
		if c.filter&t != 0 && !c.closing {
			wanted = append(wanted, c)
		}
		c.mu.Unlock()
	}
	if len(wanted) == 0 {
		return
	}
	frame, err := AppendFrame(nil, msg)
	if err != nil {
		s.log.WithError(err).WithField("type", msg.Type()).Warn("message too large for API clients: not delivered")
		return
	}
	for _, c := range wanted {
		c.enqueue(frame, t)
	}
}

// answerQuery answers a peer's query-cstatus addressed to this node with
// respond-cstatus, like classic HBDoMsg_T_QCSTATUS. The answer is sent from
// its own goroutine so that Deliver never waits for the daemon.
func (s *Server) answerQuery(q *wire.Message) {
	if dest, ok := q.Lookup(FieldDest); ok && !strings.EqualFold(dest, s.st.LocalNode()) {
		return
	}
	cname, okName := q.Lookup(FieldClientName)
	from, okFrom := q.Lookup(FieldFromID)
	src, okSrc := q.Lookup(FieldSrc)
	if !okName || !okFrom || !okSrc {
		s.log.WithField("message", q.String()).Warn("malformed query-cstatus ignored")
		return
	}
	cs := ClientOffline
	if s.hasClient(cname) {
		cs = ClientOnline
	}
	r := wire.New(TypeRespondCStatus).
		Add(FieldDest, src).
		Add(FieldResult, ResultOK).
		Add(FieldClientName, cname).
		Add(FieldToID, from).
		Add(FieldClientStatus, cs)
	if s.isClosed() {
		return
	}
	go s.sendCluster(r, s.log)
}
