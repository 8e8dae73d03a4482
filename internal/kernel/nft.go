package kernel

// nft.go: NFTables, a NAT-only load balancer in nftables that answers like IPVS, for kernels without IPVS.

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// NFTTable is the nftables table NFTables owns (family inet). Nothing else
// in the ruleset is read or changed.
const NFTTable = "ldirectord"

// ErrNFTForward: the nftables data plane forwards by NAT only; gate (direct
// routing) and ipip (tunnel) real servers need IPVS.
var ErrNFTForward = errors.New("the nftables data plane forwards by NAT (masq) only")

// maxSlots bounds the verdict map of one virtual service. Weights are
// divided by their greatest common divisor first; a service whose weights
// still add up to more is scaled down to maxSlots slots (each live real
// keeps at least one), so the split is exact for everyday weights and
// within 0.1 % of the total otherwise.
const maxSlots = 1024

// NFTables is the IPVS interface over nftables, with IPVS's semantics for
// NAT real servers. Per virtual service, in the table "inet ldirectord":
//
//   - a rule in the nat chains prerouting and output (priority dstnat)
//     sends new connections to the service's address, protocol and port
//     (or its fwmark) to the chain vs_<hash>;
//   - vs_<hash> holds a counter rule whose comment records the service,
//     then picks a slot — numgen inc for rr, wrr and the other schedulers,
//     jhash of the source address (masked by the persistence netmask) for
//     sh and persistent services — and looks it up in the verdict map
//     vs_<hash>, whose slots are spread over the real servers by weight in
//     smooth weighted round-robin order;
//   - each real server has a chain rs_<hash>_<hash> with a counter and a
//     dnat, whose comment records the real server.
//
// A real server of weight 0 keeps its chain but has no slot: no new
// connections, while connection tracking keeps the NAT of existing ones,
// which is IPVS's quiescent semantics. Thresholds and the scheduler flags
// are recorded but have no effect. The comments let a restarted daemon
// read the table back (Services, Dests) as it reads IPVS back.
//
// Every call is one nftables transaction: it applies whole or not at all.
// The socket is opened on first use, in the network namespace of the
// calling thread.
type NFTables struct {
	mu     sync.Mutex
	conn   *nftables.Conn
	table  ipvsTable // what the kernel holds, read back at open
	loaded bool
}

var _ IPVS = (*NFTables)(nil)

// NewNFTables returns the nftables data plane.
func NewNFTables() *NFTables { return &NFTables{} }

var nftTable = &nftables.Table{Family: nftables.TableFamilyINet, Name: NFTTable}

// The base chains: NAT hooks see only the first packet of a connection.
var nftBaseChains = []*nftables.Chain{
	{Name: "prerouting", Table: nftTable, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
	{Name: "output", Table: nftTable, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
}

// Close closes the socket; the table stays.
func (n *NFTables) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.CloseLasting()
	n.conn, n.loaded = nil, false
	return err
}

// Services lists the virtual services.
func (n *NFTables) Services() ([]Service, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.open(); err != nil {
		return nil, err
	}
	return n.table.services(), nil
}

// Dests lists the real servers of svc.
func (n *NFTables) Dests(svc ServiceKey) ([]Dest, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.open(); err != nil {
		return nil, err
	}
	return n.table.dests(svc)
}

// NewService adds a virtual service.
func (n *NFTables) NewService(svc Service) error { return n.serviceCall("new-service", svc) }

// UpdateService changes a virtual service.
func (n *NFTables) UpdateService(svc Service) error { return n.serviceCall("update-service", svc) }

// DelService removes a virtual service and its real servers.
func (n *NFTables) DelService(svc ServiceKey) error {
	return n.serviceCall("del-service", Service{ServiceKey: svc})
}

// NewDest adds a real server.
func (n *NFTables) NewDest(svc ServiceKey, d Dest) error { return n.destCall("new-dest", svc, d) }

// UpdateDest changes a real server.
func (n *NFTables) UpdateDest(svc ServiceKey, d Dest) error {
	return n.destCall("update-dest", svc, d)
}

// DelDest removes a real server.
func (n *NFTables) DelDest(svc ServiceKey, d Dest) error { return n.destCall("del-dest", svc, d) }

func (n *NFTables) serviceCall(call string, svc Service) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	svc = svc.Canon()
	if err := n.open(); err != nil {
		return err
	}
	old := n.snapshot(svc.ServiceKey)
	if err := n.table.serviceOp(call, svc); err != nil {
		return err
	}
	return n.commit(call, svc.ServiceKey, Dest{}, old)
}

func (n *NFTables) destCall(call string, svc ServiceKey, d Dest) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	svc = svc.Canon()
	d.Addr = d.Addr.Unmap()
	if err := n.open(); err != nil {
		return err
	}
	if call != "del-dest" && d.Forward != ForwardMasq && d.Forward != ForwardLocal {
		return fmt.Errorf("%s: %s: %w", opName(call, svc, d), d.Forward, ErrNFTForward)
	}
	old := n.snapshot(svc)
	if err := n.table.destOp(call, svc, d); err != nil {
		return err
	}
	return n.commit(call, svc, d, old)
}

// snapshot copies the model of one service (nil when absent).
func (n *NFTables) snapshot(k ServiceKey) *tableService {
	s, ok := n.table.svcs[k]
	if !ok {
		return nil
	}
	return &tableService{svc: s.svc, dests: append([]Dest(nil), s.dests...)}
}

// commit writes the change the model just took to the kernel, and undoes it
// in the model when the kernel refuses.
func (n *NFTables) commit(call string, k ServiceKey, d Dest, old *tableService) error {
	err := n.write(k, old)
	if err == nil {
		return nil
	}
	if old == nil {
		delete(n.table.svcs, k)
	} else {
		n.table.svcs[k] = old
	}
	return fmt.Errorf("%s: nftables: %w", opName(call, k, d), err)
}

// write sends one transaction that turns the kernel's objects of service k
// from old into what the model holds now.
func (n *NFTables) write(k ServiceKey, old *tableService) error {
	c := n.conn
	now := n.table.svcs[k]
	vs := &nftables.Chain{Name: vsName(k), Table: nftTable}
	vmap := &nftables.Set{Table: nftTable, Name: vsName(k), IsMap: true,
		KeyType: nftables.TypeInteger, DataType: nftables.TypeVerdict}
	last := false
	if now == nil {
		// Another ldirectord (another config file) may have added
		// services since this one read the table: ask the kernel.
		others, err := n.otherServices(k)
		if err != nil {
			return err
		}
		last = !others
	}
	switch {
	case last:
		c.DelTable(nftTable) // the last service: the table goes
	case now == nil:
		if err := n.delDispatch(k); err != nil {
			return err
		}
		c.FlushChain(vs)
		c.DelSet(vmap)
		c.DelChain(vs)
		for _, d := range old.dests {
			n.delReal(k, d)
		}
	default:
		if old == nil {
			c.AddTable(nftTable)
			for _, b := range nftBaseChains {
				c.AddChain(b)
			}
			c.AddChain(vs)
			if err := c.AddSet(vmap, nil); err != nil {
				return err
			}
			for _, b := range nftBaseChains {
				c.AddRule(&nftables.Rule{Table: nftTable, Chain: b, Exprs: dispatchExprs(k, vs.Name),
					UserData: comment("virtual " + k.String())})
			}
		} else {
			c.FlushChain(vs)
			c.FlushSet(vmap)
			for _, d := range old.dests {
				if !containsDest(now.dests, d) {
					n.delReal(k, d)
				}
			}
		}
		for _, d := range now.dests {
			if old != nil && containsDest(old.dests, d) {
				if i := indexDest(old.dests, d); old.dests[i] == d {
					continue
				}
				c.FlushChain(rsChain(k, d))
			} else {
				c.AddChain(rsChain(k, d))
			}
			c.AddRule(&nftables.Rule{Table: nftTable, Chain: rsChain(k, d), Exprs: dnatExprs(k, d),
				UserData: comment(encodeDest(d))})
		}
		c.AddRule(&nftables.Rule{Table: nftTable, Chain: vs, Exprs: []expr.Any{&expr.Counter{}},
			UserData: comment(encodeService(now.svc))})
		slots := spread(now.dests)
		if len(slots) > 0 {
			c.AddRule(&nftables.Rule{Table: nftTable, Chain: vs, Exprs: selectExprs(now.svc, len(slots), vmap)})
			elems := make([]nftables.SetElement, len(slots))
			for i, d := range slots {
				elems[i] = nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(i)),
					VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: rsChain(k, d).Name}}
			}
			if err := c.SetAddElements(vmap, elems); err != nil {
				return err
			}
		}
	}
	return c.Flush()
}

// otherServices reports whether the kernel's table holds a service other
// than k (a vs_ chain of another name).
func (n *NFTables) otherServices(k ServiceKey) (bool, error) {
	chains, err := n.conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, err
	}
	for _, ch := range chains {
		if ch.Table.Name == NFTTable && strings.HasPrefix(ch.Name, "vs_") && ch.Name != vsName(k) {
			return true, nil
		}
	}
	return false, nil
}

// delReal queues the removal of a real server's chain (after the map that
// jumps to it was flushed in the same transaction).
func (n *NFTables) delReal(k ServiceKey, d Dest) {
	ch := rsChain(k, d)
	n.conn.FlushChain(ch)
	n.conn.DelChain(ch)
}

// delDispatch queues the removal of k's rules in the base chains.
func (n *NFTables) delDispatch(k ServiceKey) error {
	want := "virtual " + k.String()
	for _, b := range nftBaseChains {
		rules, err := n.conn.GetRules(nftTable, b)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); s == want {
				if err := n.conn.DelRule(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// open opens the socket and reads the table back, once.
func (n *NFTables) open() error {
	if n.loaded {
		return nil
	}
	if n.conn == nil {
		c, err := nftables.New(nftables.AsLasting())
		if err != nil {
			return fmt.Errorf("opening nftables netlink socket: %w", err)
		}
		n.conn = c
	}
	// The read is one dump of the chains, then one of each chain's rules:
	// a chain another process deletes in between reads as empty. Read
	// again (a broken chain stays empty and fails every time).
	var t ipvsTable
	var err error
	for try := 0; try < nftReadTries; try++ {
		if t, err = readNFT(n.conn); !errors.Is(err, errNFTNoComment) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("reading nftables table inet %s: %w", NFTTable, err)
	}
	n.table, n.loaded = t, true
	return nil
}

// nftReadTries bounds open's reads of a table that changes under it.
const nftReadTries = 5

// errNFTNoComment: a chain of the table has no commented rule.
var errNFTNoComment = errors.New("has no comment")

// readNFT rebuilds the model from the comments in the table.
func readNFT(c *nftables.Conn) (ipvsTable, error) {
	var t ipvsTable
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) {
			return t, nil
		}
		return t, err
	}
	t.svcs = map[ServiceKey]*tableService{}
	byChain := map[string]*tableService{}
	var reals []*nftables.Chain
	for _, ch := range chains {
		if ch.Table.Name != NFTTable {
			continue
		}
		if strings.HasPrefix(ch.Name, "rs_") {
			reals = append(reals, ch)
			continue
		}
		if !strings.HasPrefix(ch.Name, "vs_") {
			continue
		}
		s, err := chainComment(c, ch)
		if err != nil {
			return t, err
		}
		svc, err := decodeService(s)
		if err != nil {
			return t, fmt.Errorf("chain %s: %w", ch.Name, err)
		}
		ts := &tableService{svc: svc}
		t.svcs[svc.ServiceKey] = ts
		byChain[ch.Name] = ts
	}
	for _, ch := range reals {
		vs, _, _ := strings.Cut(strings.TrimPrefix(ch.Name, "rs_"), "_")
		ts := byChain["vs_"+vs]
		if ts == nil {
			continue // left behind: not ours to guess about
		}
		s, err := chainComment(c, ch)
		if err != nil {
			return t, err
		}
		d, err := decodeDest(s)
		if err != nil {
			return t, fmt.Errorf("chain %s: %w", ch.Name, err)
		}
		ts.dests = append(ts.dests, d)
	}
	return t, nil
}

// chainComment returns the comment of the first rule of ch.
func chainComment(c *nftables.Conn, ch *nftables.Chain) (string, error) {
	rules, err := c.GetRules(nftTable, ch)
	if err != nil {
		return "", fmt.Errorf("listing chain %s: %w", ch.Name, err)
	}
	for _, r := range rules {
		if s, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("chain %s %w", ch.Name, errNFTNoComment)
}

func comment(s string) []byte { return userdata.AppendString(nil, userdata.TypeComment, s) }

func vsName(k ServiceKey) string { return "vs_" + hash32(k.String()) }

func rsChain(k ServiceKey, d Dest) *nftables.Chain {
	return &nftables.Chain{Name: "rs_" + hash32(k.String()) + "_" + hash32(d.String()), Table: nftTable}
}

func hash32(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

func containsDest(ds []Dest, d Dest) bool { return indexDest(ds, d) >= 0 }

func indexDest(ds []Dest, d Dest) int {
	for i, x := range ds {
		if x.Addr == d.Addr && x.Port == d.Port {
			return i
		}
	}
	return -1
}

// spread returns the verdict map's slots: each real server of weight > 0
// as many times as its share of the weights, in smooth weighted
// round-robin order (a, b, a, c, a, b for 3:2:1), so consecutive new
// connections alternate as IPVS's wrr alternates them.
func spread(ds []Dest) []Dest {
	var live []Dest
	g := 0
	for _, d := range ds {
		if d.Weight > 0 {
			live = append(live, d)
			g = gcd(g, d.Weight)
		}
	}
	if len(live) == 0 {
		return nil
	}
	SortDests(live)
	w := make([]int, len(live))
	total := 0
	for i, d := range live {
		w[i] = d.Weight / g
		total += w[i]
	}
	if total > maxSlots {
		scaled := 0
		for i := range w {
			w[i] = max(1, int(math.Round(float64(w[i])*maxSlots/float64(total))))
			scaled += w[i]
		}
		total = scaled
	}
	cur := make([]int, len(live))
	out := make([]Dest, 0, total)
	for range total {
		best := 0
		for i := range cur {
			cur[i] += w[i]
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		out = append(out, live[best])
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Registers: NFT_REG_1 and NFT_REG_2 (128 bits each, room for an IPv6
// address), and the verdict register.
const (
	reg1       = 1
	reg2       = 2
	regVerdict = 0
)

func nfproto(v6 bool) byte {
	if v6 {
		return unix.NFPROTO_IPV6
	}
	return unix.NFPROTO_IPV4
}

// addrOffset is where the source or destination address sits in the
// network header.
func addrOffset(v6, dst bool) (off, size uint32) {
	switch {
	case v6 && dst:
		return 24, 16
	case v6:
		return 8, 16
	case dst:
		return 16, 4
	}
	return 12, 4
}

// dispatchExprs matches the first packet of a connection to service k and
// jumps to its chain.
func dispatchExprs(k ServiceKey, chain string) []expr.Any {
	v6 := k.Is6()
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{nfproto(v6)}},
	}
	if k.FWMark != 0 {
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(k.FWMark)})
	} else {
		off, size := addrOffset(v6, true)
		e = append(e,
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: k.Addr.AsSlice()},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{byte(k.Proto)}},
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.BigEndian.PutUint16(k.Port)})
	}
	return append(e, &expr.Verdict{Kind: expr.VerdictJump, Chain: chain})
}

// selectExprs picks one of n slots and jumps through the verdict map.
func selectExprs(s Service, n int, vmap *nftables.Set) []expr.Any {
	var e []expr.Any
	if s.Scheduler == "sh" || s.Persistent > 0 {
		v6 := s.Is6()
		off, size := addrOffset(v6, false)
		e = append(e, &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size})
		if bits := s.Netmask; bits > 0 && bits < bitLen(v6) {
			mask := make([]byte, size)
			for i := range mask {
				switch {
				case bits >= 8:
					mask[i], bits = 0xff, bits-8
				default:
					mask[i], bits = byte(0xff<<(8-bits)), 0
				}
			}
			e = append(e, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: size,
				Mask: mask, Xor: make([]byte, size)})
		}
		e = append(e, &expr.Hash{SourceRegister: reg1, DestRegister: reg1, Length: size,
			Modulus: uint32(n), Seed: 0x6c647276, Type: expr.HashTypeJenkins})
	} else {
		e = append(e, &expr.Numgen{Register: reg1, Modulus: uint32(n), Type: unix.NFT_NG_INCREMENTAL})
	}
	return append(e, &expr.Lookup{SourceRegister: reg1, SetName: vmap.Name, SetID: vmap.ID,
		DestRegister: regVerdict, IsDestRegSet: true})
}

// dnatExprs counts and rewrites the destination to real server d (keeping
// the port when d has none, as for fwmark services).
func dnatExprs(k ServiceKey, d Dest) []expr.Any {
	nat := &expr.NAT{Type: expr.NATTypeDestNAT, Family: uint32(nfproto(k.Is6())), RegAddrMin: reg1}
	e := []expr.Any{&expr.Counter{}, &expr.Immediate{Register: reg1, Data: d.Addr.AsSlice()}}
	if d.Port != 0 {
		e = append(e, &expr.Immediate{Register: reg2, Data: binaryutil.BigEndian.PutUint16(d.Port)})
		nat.RegProtoMin, nat.Specified = reg2, true
	}
	return append(e, nat)
}

// encodeService and encodeDest write the comments readNFT reads back.
func encodeService(s Service) string {
	return fmt.Sprintf("virtual %s scheduler=%s flags=%d persistent=%d netmask=%d",
		s.ServiceKey, s.Scheduler, s.Flags, s.Persistent, s.Netmask)
}

func encodeDest(d Dest) string {
	return fmt.Sprintf("real %s forward=%s weight=%d upper=%d lower=%d",
		d, d.Forward, d.Weight, d.UpperThreshold, d.LowerThreshold)
}

func decodeService(s string) (Service, error) {
	f := strings.Fields(s)
	if len(f) != 6 || f[0] != "virtual" {
		return Service{}, fmt.Errorf("not a virtual service comment: %q", s)
	}
	k, err := ParseServiceKey(f[1])
	if err != nil {
		return Service{}, err
	}
	kv, err := fieldsMap(f[2:])
	if err != nil {
		return Service{}, err
	}
	svc := Service{ServiceKey: k, Scheduler: kv["scheduler"]}
	var flags, pers, mask uint64
	if flags, err = strconv.ParseUint(kv["flags"], 10, 32); err == nil {
		if pers, err = strconv.ParseUint(kv["persistent"], 10, 32); err == nil {
			mask, err = strconv.ParseUint(kv["netmask"], 10, 8)
		}
	}
	if err != nil {
		return Service{}, fmt.Errorf("virtual service comment %q: %w", s, err)
	}
	svc.Flags, svc.Persistent, svc.Netmask = ServiceFlags(flags), uint32(pers), int(mask)
	return svc, nil
}

func decodeDest(s string) (Dest, error) {
	f := strings.Fields(s)
	if len(f) != 6 || f[0] != "real" {
		return Dest{}, fmt.Errorf("not a real server comment: %q", s)
	}
	ap, err := netip.ParseAddrPort(f[1])
	if err != nil {
		return Dest{}, fmt.Errorf("real server comment %q: %w", s, err)
	}
	kv, err := fieldsMap(f[2:])
	if err != nil {
		return Dest{}, err
	}
	d := Dest{Addr: ap.Addr().Unmap(), Port: ap.Port()}
	switch kv["forward"] {
	case "masq":
		d.Forward = ForwardMasq
	case "local":
		d.Forward = ForwardLocal
	default:
		return Dest{}, fmt.Errorf("real server comment %q: forward %q", s, kv["forward"])
	}
	for name, p := range map[string]*int{"weight": &d.Weight, "upper": &d.UpperThreshold, "lower": &d.LowerThreshold} {
		if *p, err = strconv.Atoi(kv[name]); err != nil {
			return Dest{}, fmt.Errorf("real server comment %q: %s: %w", s, name, err)
		}
	}
	return d, nil
}

func fieldsMap(fs []string) (map[string]string, error) {
	kv := map[string]string{}
	for _, f := range fs {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("field %q is not name=value", f)
		}
		kv[k] = v
	}
	return kv, nil
}

// ParseServiceKey parses ServiceKey.String's forms: "tcp:10.0.0.1:80",
// "udp:[2001:db8::1]:53", "sctp:…", "fwm:5", "fwm6:5".
func ParseServiceKey(s string) (ServiceKey, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return ServiceKey{}, fmt.Errorf("virtual service %q: no kind", s)
	}
	switch kind {
	case "fwm", "fwm6":
		m, err := strconv.ParseUint(rest, 10, 32)
		if err != nil || m == 0 {
			return ServiceKey{}, fmt.Errorf("virtual service %q: bad fwmark", s)
		}
		return ServiceKey{FWMark: uint32(m), IPv6: kind == "fwm6"}, nil
	}
	var proto Proto
	switch kind {
	case "tcp":
		proto = TCP
	case "udp":
		proto = UDP
	case "sctp":
		proto = SCTP
	default:
		return ServiceKey{}, fmt.Errorf("virtual service %q: unknown protocol", s)
	}
	ap, err := netip.ParseAddrPort(rest)
	if err != nil {
		return ServiceKey{}, fmt.Errorf("virtual service %q: %w", s, err)
	}
	return ServiceKey{Proto: proto, Addr: ap.Addr().Unmap(), Port: ap.Port()}, nil
}
