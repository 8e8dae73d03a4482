// Client requests: signon with apiauth, setfilter, setsignal, set_sendqlen, clientstatus.
package api

import (
	"errors"
	"os"
	"strconv"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

const notSignedOn = "not signed on"

// signon registers the connection as a client, like classic
// api_process_registration_msg. The reply carries deadtime, keepalive, node,
// hbversion, pacemaker and logfacility even when the signon is refused, so
// that the client can tell a refusal from a dead daemon; a refused client
// is disconnected after the reply.
func (c *conn) signon(req *wire.Message) (*wire.Message, string) {
	s := c.s
	if c.signedOn {
		return badReq(ReqSignon, "already signed on"), ""
	}
	s.mu.Lock()
	gen := s.gen
	s.gen++
	s.mu.Unlock()

	resp := reply(ReqSignon)
	reason := c.addClient(req, gen)
	if reason != "" {
		resp.Add(FieldInfo, reason).Add(FieldResult, ResultBadReq)
	} else {
		resp.Add(FieldResult, ResultOK)
	}
	info := s.signon.Load()
	resp.Add(FieldDeadtime, strconv.FormatInt(info.deadtime.Milliseconds(), 16)).
		Add(FieldKeepalive, strconv.FormatInt(info.keepalive.Milliseconds(), 16)).
		Add(FieldNode, s.st.LocalNode())
	if v, ok := s.st.Param(FieldHBVersion); ok {
		resp.Add(FieldHBVersion, v)
	}
	if v, ok := s.st.Param(FieldPacemaker); ok {
		resp.Add(FieldPacemaker, v)
	}
	resp.Add(FieldLogFacility, strconv.Itoa(info.facility))

	log := c.log.WithFields(logrus.Fields{"client": req.Get(FieldFromID), "claimed_pid": req.Get(FieldPID)})
	if reason != "" {
		s.nRefused.Add(1)
		log.WithField("reason", reason).Warn("API client signon refused")
		return resp, "signon refused"
	}
	s.nSignons.Add(1)
	log.WithField("casual", c.casual).Debug("API client signed on")
	return resp, ""
}

// addClient checks a signon request and registers the client; it returns
// classic's refusal reason, or "" when the client is signed on. A named
// client's join goes to the cluster as hbapi-clstat.
func (c *conn) addClient(req *wire.Message, gen int) string {
	s := c.s
	pid := leadingInt(req.Get(FieldPID))
	if pid <= 0 || processGone(pid) {
		return "bad pid"
	}
	fromID, named := req.Lookup(FieldFromID)
	if named && s.hasClient(fromID) {
		return "duplicate add request"
	}
	id, casual := strconv.Itoa(pid), true
	if named {
		id, casual = fromID, leadingInt(fromID) == pid
	}
	uid, uok := parseLong(req.Get(FieldUID))
	gid, gok := parseLong(req.Get(FieldGID))
	if _, ok := req.Lookup(FieldUID); !ok || !uok {
		return "invalid id info"
	}
	if _, ok := req.Lookup(FieldGID); !ok || !gok {
		return "invalid id info"
	}
	if !c.credOK || uint32(uid) != c.peerUID || uint32(gid) != c.peerGID {
		return "incorrect/false credentials"
	}
	if reason, ok := s.auth.Load().check(casual, id, c.peerUID, c.peerGID); !ok {
		return reason
	}
	if c.peerPID > 0 && int(c.peerPID) != pid {
		return "pid mismatch"
	}

	s.mu.Lock()
	if _, dup := s.clients[id]; dup {
		s.mu.Unlock()
		return "duplicate add request"
	}
	c.mu.Lock()
	c.signedOn, c.id, c.casual, c.pid, c.gen = true, id, casual, pid, gen
	c.log = c.log.WithField("client", id)
	c.mu.Unlock()
	s.clients[id] = c
	s.mu.Unlock()
	if !casual {
		s.sendCluster(clientStatusMessage(ClientJoin, id, s.st.LocalNode(), ReqSignon, gen), c.log)
	}
	return ""
}

func (s *Server) hasClient(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.clients[id]
	return ok
}

// processGone reports whether no process pid exists.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// parseLong is sscanf("%ld"): optional blanks and sign, then at least one digit.
func parseLong(s string) (int64, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var n int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
		if n > 1<<40 {
			return 0, false
		}
	}
	if i == start {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseHex is sscanf("%x"): optional blanks, sign and 0x, then hex digits.
func parseHex(s string) (uint32, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		i += 2
	}
	start := i
	var n uint32
	for ; i < len(s); i++ {
		d, ok := hexDigit(s[i])
		if !ok {
			break
		}
		n = n<<4 | uint32(d)
	}
	if i == start {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func hexDigit(b byte) (byte, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

// setFilter sets which treatments of messages the client sees (fmask, hex).
// Debugging treatments are for root and the daemon's own user only.
func (c *conn) setFilter(req *wire.Message) *wire.Message {
	if !c.signedOn {
		return badReq(ReqSetFilter, notSignedOn)
	}
	v, present := req.Lookup(FieldFilterMask)
	mask, ok := parseHex(v)
	if !present || !ok || Treatment(mask)&allTreatments == 0 {
		return badReq(ReqSetFilter, einval)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.filter&debugTreatments == 0 && Treatment(mask)&debugTreatments != 0 &&
		c.peerUID != 0 && c.peerUID != uint32(os.Getuid()) {
		return badReq(ReqSetFilter, "EPERM")
	}
	c.filter = Treatment(mask)
	return okReply(reply(ReqSetFilter))[0]
}

// setSignal records the signal sent to the client after each message
// queued for it (0: none). SIGKILL, SIGSTOP and numbers from 32 are refused.
func (c *conn) setSignal(req *wire.Message) *wire.Message {
	if !c.signedOn {
		return badReq(ReqSetSignal, notSignedOn)
	}
	n, ok := parseLong(req.Get(FieldSignal))
	if !ok {
		return reply(ReqSetSignal).Add(FieldResult, ResultBadReq)
	}
	sig := uint32(n) // %u
	if sig == uint32(syscall.SIGKILL) || sig == uint32(syscall.SIGSTOP) || sig >= 32 {
		return badReq(ReqSetSignal, einval)
	}
	c.mu.Lock()
	c.signal = int(sig)
	c.mu.Unlock()
	return okReply(reply(ReqSetSignal))[0]
}

// setSendQLen changes how many deliveries may wait for the client; it
// never replies, like classic, and ignores a missing or non-positive length.
func (c *conn) setSendQLen(req *wire.Message) {
	n, ok := parseLong(req.Get(FieldSendQLen))
	if !ok || n <= 0 {
		c.log.WithField("sendqlen", req.Get(FieldSendQLen)).Warn("set_sendqlen: invalid length ignored")
		return
	}
	n = min(n, MaxSendQLen)
	c.mu.Lock()
	c.qlen = int(n)
	c.mu.Unlock()
	c.log.WithField("sendqlen", n).Info("API client send queue length set")
}

// clientStatus answers whether a client is signed on at a node: at once for
// the local node or a node that is not active, otherwise by asking that
// node with query-cstatus; its respond-cstatus reaches the client through
// Deliver, and clientStatus returns nil (no reply now).
func (c *conn) clientStatus(req *wire.Message) *wire.Message {
	s := c.s
	node, okNode := req.Lookup(FieldNode)
	cname, okName := req.Lookup(FieldClientName)
	_, okFrom := req.Lookup(FieldFromID)
	n, found := lookupNode(s.st.Nodes(), node)
	if !okNode || !okName || !okFrom || !found {
		return badReq(ReqClientStatus, einval)
	}
	resp := reply(ReqClientStatus).Add(FieldSubType, TypeRespondCStatus)
	if n.Name == s.st.LocalNode() {
		cs := ClientOffline
		if s.hasClient(cname) {
			cs = ClientOnline
		}
		return okReply(resp.Add(FieldClientStatus, cs))[0]
	}
	if n.Status != "active" {
		return okReply(resp.Add(FieldClientStatus, ClientOffline))[0]
	}
	if !c.signedOn {
		return badReq(ReqClientStatus, notSignedOn)
	}
	q := wire.New(TypeQueryCStatus).Add(FieldDest, n.Name).Add(FieldClientName, cname).Add(FieldFromID, c.id)
	if err := s.sendCluster(q, c.log); err != nil {
		return badReq(ReqClientStatus, "ECOMM")
	}
	return nil
}
