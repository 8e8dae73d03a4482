// conn: one client connection: its reader, its writer and bounded delivery queue, its signon state.
package api

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// DefaultSendQLen is how many delivered messages may wait for a slow client
// before further ones are dropped (cluster-glue DEFAULT_MAX_QLEN); a client
// may change it with set_sendqlen, up to MaxSendQLen.
const (
	DefaultSendQLen = 64
	MaxSendQLen     = 4096
)

// dropLogInterval rate-limits the "messages dropped" warning per client,
// like cluster-glue's once a minute.
const dropLogInterval = time.Minute

// conn is one accepted connection. The reader goroutine (serve) owns the
// signon fields; Deliver reads them under mu.
type conn struct {
	s       *Server
	uc      *net.UnixConn
	log     logrus.FieldLogger
	peerPID int32
	peerUID uint32
	peerGID uint32
	credOK  bool

	writeMu sync.Mutex // one frame batch at a time on uc

	mu          sync.Mutex
	signedOn    bool
	id          string
	casual      bool
	pid         int
	gen         int
	filter      Treatment
	signal      int
	qlen        int
	queue       [][]byte
	dropped     uint64 // since the last warning
	lastDropLog time.Time
	closing     bool

	wake chan struct{} // a frame was queued
	done chan struct{} // the connection is finished
}

func (s *Server) newConn(uc *net.UnixConn) *conn {
	c := &conn{s: s, uc: uc, log: s.log, filter: TreatKeep, qlen: DefaultSendQLen,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if pid, uid, gid, ok := peerCred(uc); ok {
		c.peerPID, c.peerUID, c.peerGID, c.credOK = pid, uid, gid, true
		c.log = c.log.WithFields(logrus.Fields{"pid": pid, "uid": uid})
	}
	return c
}

// serve answers the client's messages in order until it leaves, signs off,
// sends a bad frame, or stops reading its replies.
func (c *conn) serve() {
	defer c.s.wg.Done()
	reason := "EOF"
	defer func() { c.finish(reason) }()
	br := bufio.NewReader(c.uc)
	s := c.s
	for {
		req, err := s.readRequest(c.uc, br)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF), s.isClosed(), errors.Is(err, net.ErrClosed):
			case errors.Is(err, ErrBadMagic), errors.Is(err, ErrBadLength), errors.Is(err, ErrBadBody),
				errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, os.ErrDeadlineExceeded):
				s.nBadFrames.Add(1)
				c.log.WithError(err).Warn("bad frame from API client: connection closed")
				reason = "badframe"
			default:
				c.log.WithError(err).Debug("API client read failed")
			}
			return
		}
		s.nRequests.Add(1)
		s.DeliverAs(req, TreatAPICall)
		replies, closeReason := c.handle(req)
		if err := c.writeReplies(replies); err != nil {
			reason = "sendfail"
			return
		}
		if closeReason != "" {
			reason = closeReason
			return
		}
	}
}

// readRequest waits without a deadline for the first byte of a frame, then
// gives the whole frame FrameTimeout to arrive.
func (s *Server) readRequest(c *net.UnixConn, br *bufio.Reader) (*wire.Message, error) {
	if _, err := br.Peek(1); err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(s.FrameTimeout))
	defer c.SetReadDeadline(time.Time{})
	return ReadMessage(br)
}

// writeReplies writes replies as one batch.
func (c *conn) writeReplies(replies []*wire.Message) error {
	if len(replies) == 0 {
		return nil
	}
	var out []byte
	for _, r := range replies {
		var err error
		if out, err = AppendFrame(out, r); err != nil {
			c.log.WithError(err).Error("API reply too large: connection closed")
			return err
		}
	}
	return c.write([][]byte{out})
}

// write writes frames, giving up after WriteTimeout.
func (c *conn) write(frames [][]byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.uc.SetWriteDeadline(time.Now().Add(c.s.WriteTimeout))
	bufs := net.Buffers(frames)
	if _, err := bufs.WriteTo(c.uc); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.s.nWriteTimeouts.Add(1)
			c.log.WithField("timeout", c.s.WriteTimeout).Warn("API client does not read its messages: connection closed")
		} else if !c.s.isClosed() {
			c.log.WithError(err).Debug("API client write failed")
		}
		c.uc.Close()
		return err
	}
	return nil
}

// writeLoop writes queued deliveries until the connection is finished.
func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		c.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		if err := c.write(batch); err != nil {
			return
		}
	}
}

// enqueue queues a delivery frame, or drops and counts it when the queue
// is full; it never blocks on the client.
func (c *conn) enqueue(frame []byte, t Treatment) {
	c.mu.Lock()
	if c.closing || c.filter&t == 0 {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= c.qlen {
		c.s.nDropped.Add(1)
		c.dropped++
		if now := time.Now(); now.Sub(c.lastDropLog) >= dropLogInterval {
			c.log.WithFields(logrus.Fields{"client": c.id, "dropped": c.dropped, "sendqlen": c.qlen}).
				Warn("API client reads too slowly: messages dropped")
			c.lastDropLog, c.dropped = now, 0
		}
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, frame)
	sig, pid := c.signal, c.pid
	c.mu.Unlock()
	c.s.nDelivered.Add(1)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	if sig != 0 && pid > 0 {
		syscall.Kill(pid, syscall.Signal(sig)) // the client asked for it (setsignal)
	}
}

// finish unregisters the connection; a named client that was signed on
// leaves the cluster with an hbapi-clstat leave carrying reason.
func (c *conn) finish(reason string) {
	s := c.s
	s.mu.Lock()
	delete(s.conns, c)
	wasClient := c.signedOn && s.clients[c.id] == c
	if wasClient {
		delete(s.clients, c.id)
	}
	closed := s.closed
	s.mu.Unlock()
	c.mu.Lock()
	c.closing = true
	c.queue = nil
	c.mu.Unlock()
	close(c.done)
	if wasClient && !c.casual && !closed {
		leave := clientStatusMessage(ClientLeave, c.id, s.st.LocalNode(), reason, c.gen)
		if reason == ReqSignoff { // make sure they know they're signed off
			if f, err := AppendFrame(nil, leave); err == nil {
				c.write([][]byte{f})
			}
		}
		s.sendCluster(leave, c.log)
	}
	c.uc.Close()
	if wasClient {
		c.log.WithFields(logrus.Fields{"client": c.id, "reason": reason}).Debug("API client signed off")
	}
}

// sendCluster hands a message to the daemon for the cluster.
func (s *Server) sendCluster(m *wire.Message, log logrus.FieldLogger) error {
	if err := s.st.SendClusterMessage(m); err != nil {
		s.nSendErrors.Add(1)
		log.WithError(err).WithField("type", m.Type()).Error("cannot send API message to the cluster")
		return err
	}
	return nil
}

// handle answers one message. closeReason, when set, ends the connection
// after the replies are written.
func (c *conn) handle(req *wire.Message) (replies []*wire.Message, closeReason string) {
	s := c.s
	if req.Type() != TypeRequest && c.signedOn {
		return nil, c.clusterMessage(req)
	}
	var bad bool
	switch reqtype := req.Get(FieldReqType); {
	case req.Type() != TypeRequest:
		replies, bad = dispatch(s.st, req, s.Counters)
	case reqtype == ReqSignon:
		var r *wire.Message
		r, closeReason = c.signon(req)
		replies = []*wire.Message{r}
	case reqtype == ReqSignoff:
		return nil, ReqSignoff // no reply, like classic
	case reqtype == ReqSetSendQLen:
		c.setSendQLen(req)
		return nil, ""
	case reqtype == ReqSetFilter:
		replies = []*wire.Message{c.setFilter(req)}
	case reqtype == ReqSetSignal:
		replies = []*wire.Message{c.setSignal(req)}
	case reqtype == ReqClientStatus:
		if r := c.clientStatus(req); r != nil {
			replies = []*wire.Message{r}
		}
	default:
		replies, bad = dispatch(s.st, req, s.Counters)
	}
	if len(replies) == 1 && replies[0].Get(FieldResult) == ResultBadReq {
		bad = true
	}
	if bad {
		s.nBadReq.Add(1)
		c.log.WithFields(logrus.Fields{"reqtype": req.Get(FieldReqType), "info": replies[0].Get(FieldInfo)}).
			Debug("bad API request")
	}
	return replies, closeReason
}

// clusterMessage sends a signed-on client's own message to the cluster,
// stamped like classic: from_id and to_id are the client's id (so that it
// reaches only same-named clients), client_gen its generation. A casual
// client may not send any and is disconnected.
func (c *conn) clusterMessage(m *wire.Message) (closeReason string) {
	if c.casual {
		c.log.WithField("type", m.Type()).Info("cluster message from a casual API client: connection closed")
		return "badclient"
	}
	m.Set(FieldFromID, c.id).Set(FieldToID, c.id).Set(FieldClientGen, strconv.Itoa(c.gen))
	c.s.nClusterMsgs.Add(1)
	c.s.sendCluster(m, c.log)
	return ""
}
