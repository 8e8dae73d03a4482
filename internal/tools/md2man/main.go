// main.go: renders the Markdown manual pages docs/NAME.S.md into roff.

// Command md2man turns each NAME.S.md into DIR/NAME.S with go-md2man. The
// page's first line, "# name(S)…", becomes the .TH header (title, section,
// date, source "hasuite …", manual). Markdown that would vanish or render
// as a warning (raw HTML, a stray <word> outside code) is an error.
//
//	go run ./internal/tools/md2man -o bin/man -date 2026-11-22 -source "hasuite 1.0" docs/*.[158].md
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/russross/blackfriday/v2"
)

// manuals names the manual of each section, as man-pages(7) does.
var manuals = map[string]string{
	"1": "User Commands",
	"5": "File Formats",
	"8": "System Administration",
}

var (
	pageName  = regexp.MustCompile(`^([A-Za-z0-9_.+-]+)\.([1-9])\.md$`)
	titleLine = regexp.MustCompile(`^# ([A-Za-z0-9_.+-]+)\(([1-9])\)`)
)

func main() {
	out := flag.String("o", "", "output directory")
	date := flag.String("date", "", "date in the header (YYYY-MM-DD)")
	source := flag.String("source", "hasuite", "source in the header")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: md2man -o DIR [-date D] [-source S] NAME.S.md...")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "md2man:", err)
		os.Exit(1)
	}
	failed := false
	for _, in := range flag.Args() {
		page, err := render(in, *date, *source)
		if err == nil {
			name := strings.TrimSuffix(filepath.Base(in), ".md")
			err = os.WriteFile(filepath.Join(*out, name), page, 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "md2man: %s: %v\n", in, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// render converts one NAME.S.md page to roff.
func render(path, date, source string) ([]byte, error) {
	m := pageName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return nil, fmt.Errorf("file name is not NAME.S.md")
	}
	name, section := m[1], m[2]
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	first, body, _ := bytes.Cut(doc, []byte("\n"))
	t := titleLine.FindSubmatch(first)
	if t == nil || string(t[1]) != name || string(t[2]) != section {
		return nil, fmt.Errorf("first line %q is not \"# %s(%s)\"", first, name, section)
	}
	if err := checkMarkdown(body); err != nil {
		return nil, err
	}
	// A pandoc title block: go-md2man writes its text after ".TH ".
	header := fmt.Sprintf("%% %s %s %q %q %q\n", strings.ToUpper(name), section, date, source, manuals[section])
	page := md2man.Render(append([]byte(header), markContinuations(body)...))
	page = bytes.ReplaceAll(page, []byte(".PP\n"+contMarker+" "), []byte(".IP\n"))
	if bytes.Contains(page, []byte(contMarker)) {
		return nil, fmt.Errorf("a further paragraph of a definition did not render as one")
	}
	// Examples indented from the text around them, as man pages set them.
	page = bytes.ReplaceAll(page, []byte("\n.EX\n"), []byte("\n.RS 4\n.EX\n"))
	page = bytes.ReplaceAll(page, []byte("\n.EE\n"), []byte("\n.EE\n.RE\n"))
	return asciiRoff(noHyphenation(page)), nil
}

// contMarker starts a definition's further paragraph (indented by two
// spaces after a blank line) in the Markdown given to go-md2man, which
// would otherwise end the definition there and keep the indentation as
// line breaks; the paragraph becomes an .IP at the definition's indent.
const contMarker = "MD2MANCONTINUED"

var listItem = regexp.MustCompile(`^([-*+]|[0-9]+\.) `)

// markContinuations marks the further paragraphs of definitions (": text"
// items) and unindents their lines.
func markContinuations(body []byte) []byte {
	lines := strings.Split(string(body), "\n")
	inDef, inFence, inPara, prevBlank := false, false, false, false
	for i, l := range lines {
		text := strings.TrimLeft(l, " ")
		indent := len(l) - len(text)
		switch {
		case strings.HasPrefix(text, "```"):
			inFence = !inFence
		case inFence:
		case text == "":
			inPara = false
		case strings.HasPrefix(l, ": "):
			inDef = true
		case indent == 0:
			inDef = false
		case inPara:
			lines[i] = text
		case inDef && prevBlank && indent < 4 && !listItem.MatchString(text):
			lines[i] = contMarker + " " + text
			inPara = true
		}
		prevBlank = text == "" && !inFence
	}
	return []byte(strings.Join(lines, "\n"))
}

// noHyphenation moves go-md2man's ".nh" after the .TH line: groff's .TH
// turns hyphenation back on, which splits paths and options in the text.
func noHyphenation(page []byte) []byte {
	th := thLine.FindIndex(page)
	if th == nil {
		return page
	}
	head := bytes.Replace(page[:th[0]], []byte(".nh\n"), nil, 1)
	out := append(append(head, page[th[0]:th[1]]...), ".nh\n"...)
	return append(out, bytes.Replace(page[th[1]:], []byte(".nh\n"), nil, 1)...)
}

var thLine = regexp.MustCompile(`(?m)^\.TH .*\n`)

// asciiRoff writes every non-ASCII character as a groff escape \[uXXXX],
// so the page needs no preconv and renders the same in any locale.
func asciiRoff(page []byte) []byte {
	var b bytes.Buffer
	for _, r := range string(page) {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "\\[u%04X]", r)
		}
	}
	return b.Bytes()
}

// checkMarkdown rejects what go-md2man drops or only warns about: raw HTML
// blocks and spans (a <word> in running text is parsed as an HTML tag),
// numbered lists (a wrapped line starting "694. " makes one) and further
// level-1 headings (the first one is the .TH header).
func checkMarkdown(body []byte) error {
	exts := blackfriday.NoIntraEmphasis | blackfriday.Tables | blackfriday.FencedCode |
		blackfriday.SpaceHeadings | blackfriday.Footnotes | blackfriday.Titleblock | blackfriday.DefinitionLists
	root := blackfriday.New(blackfriday.WithExtensions(exts)).Parse(body)
	var err error
	root.Walk(func(n *blackfriday.Node, entering bool) blackfriday.WalkStatus {
		switch {
		case n.Type == blackfriday.HTMLSpan || n.Type == blackfriday.HTMLBlock && !bytes.HasPrefix(n.Literal, []byte("<!--")):
			err = fmt.Errorf("raw HTML %q would be dropped (put it in `code` or escape the <)", n.Literal)
		case n.Type == blackfriday.List && n.ListFlags&blackfriday.ListTypeOrdered != 0:
			err = fmt.Errorf("a numbered list (the pages use none: does a line start with \"N. \"?)")
		case n.Type == blackfriday.Heading && n.Level == 1:
			err = fmt.Errorf("a second level-1 heading would become a .TH header")
		default:
			return blackfriday.GoToNext
		}
		return blackfriday.Terminate
	})
	return err
}
