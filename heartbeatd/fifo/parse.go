// parse.go: splitting the FIFO byte stream into ">>>" ... "<<<" blocks.

package fifo

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// Block markers (cluster-glue MSG_START, MSG_END, MSG_START_NETSTRING).
const (
	blockStart     = ">>>\n"
	blockEnd       = "<<<\n"
	netstringStart = "###\n"
)

// parser turns complete lines into messages. Compared with classic
// msgfromstream, which skips every line up to a ">>>" and drops a whole
// block on its first bad line:
//   - a ">>>" inside a block starts a new block, dropping the unfinished
//     one (classic took the ">>>" as a bad line and so lost both);
//   - text outside blocks is reported (once per run of lines) instead of
//     being skipped silently; empty lines and the NUL that ends
//     wire.Marshal output are ignored there;
//   - a block without a "t" field is dropped here (classic dropped it later,
//     "Invalid message in send_cluster_msg");
//   - netstring ("###") messages are not accepted: scripts never write
//     them.
type parser struct {
	in    bool   // inside a >>> block
	block []byte // ">>>\n" and the block's lines so far
	bad   error  // why the current block is already lost; nil while fine
	junk  bool   // inside a run of text outside blocks (already reported)
}

// errTruncated marks a block cut short by the next ">>>".
var errTruncated = errors.New("unfinished message: a new >>> came before <<<")

// line handles one line, '\n' included (a too long line arrives with
// tooLong set and only its start). It returns the message a block ended
// with, or the reason something was dropped, or neither.
func (p *parser) line(l []byte, tooLong bool) (*wire.Message, error) {
	if !p.in {
		l = bytes.TrimLeft(l, "\x00")
		switch {
		case !tooLong && string(l) == blockStart:
			p.start()
			return nil, nil
		case !tooLong && len(bytes.TrimSpace(l)) == 0:
			return nil, nil
		case p.junk:
			return nil, nil
		}
		p.junk = true
		if !tooLong && string(l) == netstringStart {
			return nil, errors.New("netstring (###) messages are not accepted on the FIFO")
		}
		return nil, fmt.Errorf("text outside a >>> ... <<< block: %q", clip(l))
	}
	switch {
	case tooLong:
		p.lose(fmt.Errorf("line longer than %d bytes", wire.MaxMessage))
		return nil, nil
	case string(l) == blockStart:
		p.start()
		return nil, errTruncated
	case string(l) != blockEnd:
		if p.bad == nil {
			if len(p.block)+len(l)+len(blockEnd) > wire.MaxMessage {
				p.lose(fmt.Errorf("message longer than %d bytes", wire.MaxMessage))
			} else {
				p.block = append(p.block, l...)
			}
		}
		return nil, nil
	}
	// "<<<": the block is complete.
	p.in = false
	if p.bad != nil {
		return nil, p.bad
	}
	m, err := wire.Unmarshal(append(p.block, blockEnd...))
	switch {
	case err != nil:
		return nil, err
	case m.Type() == "":
		return nil, fmt.Errorf("message without a t= field: %q", clip([]byte(m.String())))
	}
	return m, nil
}

// start begins a new block.
func (p *parser) start() {
	p.in, p.junk, p.bad = true, false, nil
	p.block = append(p.block[:0], blockStart...)
}

// lose marks the current block as dropped for err (the first reason wins)
// and frees its text.
func (p *parser) lose(err error) {
	if p.bad == nil {
		p.bad = err
	}
	p.block = p.block[:0]
}

// clip shortens b for a log line.
func clip(b []byte) []byte {
	const max = 60
	b = bytes.TrimRight(b, "\n")
	if len(b) > max {
		return append(b[:max:max], "..."...)
	}
	return b
}
