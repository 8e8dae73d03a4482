// haresources parser (spec §4), following ResourceManager's ipres pipeline.
package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hasuite/hasuite/internal/conferr"
)

// Resource is one resource of a group as ResourceManager reads it.
type Resource struct {
	Name string   // script name, looked up in resource.d then init.d
	Args []string // arguments given before start|stop|status
	Text string   // as written, e.g. "10.0.0.1/24" or "Filesystem::/dev/sda1::/data"
}

// Group is one logical haresources line: a preferred node and the resources
// started left to right, stopped right to left.
type Group struct {
	Node      string // lower-cased
	Key       string // the first resource as written: ipaddr= on the wire, takegroup/givegroup argument
	Resources []Resource
	Line      int // first physical line
}

// Same reports whether g and o are the same group: same preferred node and
// the same resources as written (the key is the first of them). Line
// numbers do not count.
func (g Group) Same(o Group) bool {
	if g.Node != o.Node || len(g.Resources) != len(o.Resources) {
		return false
	}
	for i := range g.Resources {
		if g.Resources[i].Text != o.Resources[i].Text {
			return false
		}
	}
	return true
}

// LoadHaresources reads the haresources file at path; nodes are ha.cf's
// normal nodes.
func LoadHaresources(path string, nodes []string) ([]Group, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading haresources: %w", err)
	}
	defer f.Close()
	return ParseHaresources(path, f, nodes)
}

// ParseHaresources parses haresources text from r. Each group's node must be
// one of nodes (compared lower-cased) and each group key must be unique.
//
// Like ResourceManager: "#" starts a comment anywhere; a line ending in "\"
// is joined to the next one with nothing in between; blanks and tabs
// separate words; the node is lower-cased. One difference on purpose:
// ResourceManager strips comments only from the first physical line of a
// continued line, so "#" text on a continuation line became resources;
// here comments are stripped from every physical line.
func ParseHaresources(file string, r io.Reader, nodes []string) ([]Group, error) {
	known := map[string]bool{}
	for _, n := range nodes {
		known[asciiLower(n)] = true
	}
	errs := conferr.List{File: file}
	var groups []Group
	keys := map[string]int{}
	br := bufio.NewReader(r)
	var logical strings.Builder
	start, line := 0, 0
	for {
		text, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		eof := err == io.EOF
		if text != "" {
			line++
			if logical.Len() == 0 {
				start = line
			}
			text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
			if i := strings.IndexByte(text, '#'); i >= 0 {
				text = text[:i]
			}
			cont := strings.HasSuffix(text, `\`)
			logical.WriteString(strings.TrimSuffix(text, `\`))
			if cont && !eof {
				continue
			}
		}
		if logical.Len() > 0 {
			if g, ok := parseGroup(&errs, start, logical.String(), known); ok {
				if first, dup := keys[g.Key]; dup {
					errs.Add(start, "duplicate group key %q (first used at line %d); the first resource of each line must be unique", g.Key, first)
				} else {
					keys[g.Key] = start
					groups = append(groups, g)
				}
			}
			logical.Reset()
		}
		if eof {
			break
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return groups, nil
}

// parseGroup reads one logical line; ok is false for blank lines and errors.
func parseGroup(errs *conferr.List, line int, text string, known map[string]bool) (Group, bool) {
	words := splitAny(text, " \t")
	if len(words) == 0 {
		return Group{}, false
	}
	g := Group{Node: asciiLower(words[0]), Line: line}
	if !known[g.Node] {
		errs.Add(line, "bad node name %q: not a node declared in ha.cf", g.Node)
		return g, false
	}
	if len(words) == 1 {
		errs.Add(line, "node %s has no resources", g.Node)
		return g, false
	}
	for _, w := range words[1:] {
		res, err := parseResource(w)
		if err != nil {
			errs.Add(line, "%v", err)
			return g, false
		}
		g.Resources = append(g.Resources, res)
	}
	g.Key = words[1]
	return g, true
}

// parseResource splits "script::a1::a2" (or a bare IPv4 address, which
// means IPaddr::<address>) into script name and arguments. As in
// ResourceManager the text after the first "::" has every "::" replaced by a
// blank and is word-split, so empty arguments vanish.
func parseResource(text string) (Resource, error) {
	canon := text
	if isIP(text) {
		canon = "IPaddr::" + text
	}
	name, rest, _ := strings.Cut(canon, "::")
	if name == "" {
		return Resource{}, fmt.Errorf("resource %q has no script name", text)
	}
	return Resource{Name: name, Args: strings.Fields(strings.ReplaceAll(rest, "::", " ")), Text: text}, nil
}

// isIP matches ResourceManager's shell glob [0-9]*.[0-9]*.[0-9]*.[0-9]*:
// a leading digit, then three ".<digit>" in order, anything in between.
func isIP(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	i := 1
	for n := 0; n < 3; n++ {
		found := false
		for ; i+1 < len(s); i++ {
			if s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
				i += 2
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
