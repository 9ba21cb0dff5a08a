package policy

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tailscale/hujson"
)

// AddEntry returns src, the bytes of the policy file named file, with entry
// appended to the list named by key: "filesystem.allowRead",
// "filesystem.allowWrite", "network.allowedDomains",
// "git.push.repositories" or "presets", the lists a refusal can be
// allowed by (see Suggestion in package workspace).
// Other keys are an error: the deny lists and the environment are edited by
// hand, never in answer to a prompt.
//
// It is what "allow for this workspace" writes into a folder's
// .sandbar/policy.jsonc, a file people wrote and review in diffs, so the
// diff it makes is the new entry and nothing else: every comment, blank
// line, key and indentation survives, and the entry is laid out like its
// neighbours (on its own line with their indentation in a multi-line list,
// after them on the line in a one-line list, with a trailing comma where
// the list has one). A missing object ("filesystem", "network") or list is
// added in the schema's key order, shaped like the keys around it. A src
// that is nil, empty or only comments becomes a new file (after those
// comments) that starts with a comment saying what it is.
//
// entry is validated as Parse validates the list's entries, and compared
// with the entries already there as written: if it is one of them, src is
// returned unchanged. A file that Parse rejects (a syntax error, "network"
// that is not an object, any other error) is not edited: the error is
// Parse's ErrorList, naming every problem with its line and column. Like
// Parse, file is only used in messages.
//
// The result is checked by reading it back with Parse: an edit that would
// not read back as the old list plus entry is an error, never a result.
func AddEntry(file string, src []byte, key, entry string) ([]byte, error) {
	k := findList(key)
	if k == nil {
		return nil, fmt.Errorf("adding %q to %s in %s: %q is not a list sandbar adds to; use %s", entry, key, file, key, quoteList(listNames()))
	}
	if msg := k.checkNew(entry); msg != "" {
		return nil, fmt.Errorf("adding to %s in %s: %s", key, file, msg)
	}
	old, err := Parse(file, src)
	if err != nil {
		return nil, err
	}
	for _, v := range k.values(old) {
		if v.Text == entry {
			return src, nil
		}
	}

	// Parse accepts two things hujson rejects: a byte order mark, and a line
	// comment that ends the file. So hujson is given the file without the
	// mark and with a newline added, and both are undone after packing.
	bom, body := []byte(nil), src
	if rest, ok := bytes.CutPrefix(src, []byte("\uFEFF")); ok {
		bom, body = src[:3], rest
	}
	if newParser(file, src).blank() {
		body = newFile(body, k)
	}
	root, err := hujson.Parse(slices.Concat(body, []byte("\n")))
	if err != nil {
		return nil, fmt.Errorf("adding %q to %s in %s: internal error: %w", entry, key, file, err)
	}
	if err := addEntry(&root, newEditor(&root, body), k, entry); err != nil {
		return nil, fmt.Errorf("adding %q to %s in %s: internal error: %w", entry, key, file, err)
	}
	packed := root.Pack()
	out := slices.Concat(bom, packed[:len(packed)-1])

	got, err := Parse(file, out)
	if err != nil {
		return nil, fmt.Errorf("adding %q to %s in %s: internal error: the edited file does not read back: %w", entry, key, file, err)
	}
	want := append(texts(k.values(old)), entry)
	if have := texts(k.values(got)); !slices.Equal(want, have) {
		return nil, fmt.Errorf("adding %q to %s in %s: internal error: the edited file has %q, want %q", entry, key, file, have, want)
	}
	return out, nil
}

// AddAllowedDomain is AddEntry for network.allowedDomains.
func AddAllowedDomain(file string, src []byte, entry string) ([]byte, error) {
	return AddEntry(file, src, "network.allowedDomains", entry)
}

// list is a list AddEntry can add to.
type list struct {
	key    string // as callers name it: "filesystem.allowWrite"
	object string // the object holding it ("filesystem"), "" at the top level
	name   string // its key in that object: "allowWrite"
	noun   string // what an entry is, for messages
	check  func(string) string
	values func(*Policy) []Value
	// comment describes the list above it in a new file, one line of the
	// comment per element.
	comment []string
}

// lists are the lists AddEntry can add to, in the schema's order.
var lists = []list{
	{
		key: "filesystem.allowRead", object: "filesystem", name: "allowRead",
		noun: "path", check: checkPath,
		values: func(p *Policy) []Value { return p.Filesystem.AllowRead },
		comment: []string{
			"Paths the commands may read. sandbar adds one here when you allow",
			"a refused read for this workspace.",
		},
	},
	{
		key: "filesystem.allowWrite", object: "filesystem", name: "allowWrite",
		noun: "path", check: checkPath,
		values: func(p *Policy) []Value { return p.Filesystem.AllowWrite },
		comment: []string{
			"Paths the commands may write. sandbar adds one here when you allow",
			"a refused write for this workspace.",
		},
	},
	{
		key: "network.allowedDomains", object: "network", name: "allowedDomains",
		noun: "domain", check: checkDomain,
		values: func(p *Policy) []Value { return p.Network.AllowedDomains },
		comment: []string{
			"Hosts the commands may connect to. sandbar adds one here when you",
			`answer "allow for this workspace".`,
		},
	},
	{
		key: "presets", name: "presets",
		noun: "preset", check: checkPreset,
		values: func(p *Policy) []Value { return p.Presets },
		comment: []string{
			"Toolchains whose caches the commands may write. sandbar adds one",
			"here when you allow a refused write to a cache for this workspace.",
		},
	},
	{
		key: "git.push.repositories", object: "git.push", name: "repositories",
		noun: "repository", check: checkRepository,
		values: func(p *Policy) []Value { return p.Git.Push.Repositories },
		comment: []string{
			"Repositories the commands may push to without asking. sandbar adds",
			`one here when you answer "allow for this workspace" to a first push.`,
		},
	},
}

func findList(key string) *list {
	for i := range lists {
		if lists[i].key == key {
			return &lists[i]
		}
	}
	return nil
}

func listNames() []string {
	out := make([]string, len(lists))
	for i, l := range lists {
		out[i] = l.key
	}
	return out
}

// checkNew is the list's check for an entry that is about to be written
// rather than one already in a file, so the messages do not say "remove".
func (l *list) checkNew(s string) string {
	switch {
	case s == "":
		return fmt.Sprintf("the %s is empty", l.noun)
	case !utf8.ValidString(s):
		return fmt.Sprintf("%q is not valid UTF-8", s)
	}
	return l.check(s)
}

func texts(vs []Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Text
	}
	return out
}

// newFileHeader starts the policy file of a folder that has none.
const newFileHeader = `// sandbar reads this file to decide what the commands it runs in this
// folder may do. The format is described in sandbar's docs/policy-schema.md.
{
  "version": 1,
`

// newFileTemplate is the whole new file for l. Its list is empty so that
// the entry is added by the same code as for every other file, and
// multi-line so that each entry sandbar adds later is a line of its own.
func newFileTemplate(l *list) string {
	var b strings.Builder
	b.WriteString(newFileHeader)
	indent := "  "
	var objects []string
	if l.object != "" {
		objects = strings.Split(l.object, ".")
	}
	for _, o := range objects {
		fmt.Fprintf(&b, "%s%q: {\n", indent, o)
		indent += "  "
	}
	for _, line := range l.comment {
		fmt.Fprintf(&b, "%s// %s\n", indent, line)
	}
	fmt.Fprintf(&b, "%s%q: [\n%s],\n", indent, l.name, indent)
	for range objects {
		indent = indent[2:]
		fmt.Fprintf(&b, "%s},\n", indent)
	}
	b.WriteString("}\n")
	return b.String()
}

// newFile returns the text to edit for a file that holds only whitespace and
// comments: the template, after the user's comments if there are any.
func newFile(body []byte, l *list) []byte {
	nl := newline(body)
	tmpl := []byte(strings.ReplaceAll(newFileTemplate(l), "\n", nl))
	if len(bytes.TrimSpace(body)) == 0 {
		return tmpl
	}
	if !bytes.HasSuffix(body, []byte("\n")) {
		body = slices.Concat(body, []byte(nl))
	}
	return slices.Concat(body, []byte(nl), tmpl)
}

// objectKeys are the keys of each object AddEntry may add a list to, in
// the schema's order.
var objectKeys = map[string][]string{
	"":           topKeys,
	"filesystem": filesystemKeys,
	"network":    networkKeys,
	"git":        gitKeys,
	"git.push":   gitPushKeys,
}

// addEntry appends entry to root's list l, adding the keys on the way.
// Parse has checked every type on that way.
func addEntry(root *hujson.Value, e *editor, l *list, entry string) error {
	obj, ok := root.Value.(*hujson.Object)
	if !ok {
		return fmt.Errorf("the policy is not an object")
	}
	// Down the objects that hold the list ("git", then "push"), adding
	// those that are missing.
	if l.object != "" {
		parent := ""
		for _, name := range strings.Split(l.object, ".") {
			v := member(obj, name)
			if v == nil {
				v = e.addMember(obj, name, objectKeys[parent], func(p placement) hujson.ValueTrimmed {
					return &hujson.Object{AfterExtra: e.closing(p)}
				})
			}
			if obj, ok = v.Value.(*hujson.Object); !ok {
				return fmt.Errorf("%q is not an object", name)
			}
			parent = strings.TrimPrefix(parent+"."+name, ".")
		}
	}
	v := member(obj, l.name)
	if v == nil {
		// The new list is written as the file writes its lists: on one
		// line, or with an entry per line if the file has such lists.
		v = e.addMember(obj, l.name, objectKeys[l.object], func(p placement) hujson.ValueTrimmed {
			if !e.lineLists {
				p.multiline = false
			}
			return &hujson.Array{AfterExtra: e.closing(p)}
		})
	}
	arr, ok := v.Value.(*hujson.Array)
	if !ok {
		return fmt.Errorf("%q is not an array", l.name)
	}
	e.appendElement(arr, hujson.String(entry))
	return nil
}

// member returns the value of obj's member named name, or nil. Parse has
// refused duplicate keys, so the first is the only one.
func member(obj *hujson.Object, name string) *hujson.Value {
	for i := range obj.Members {
		m := &obj.Members[i]
		if lit, ok := m.Name.Value.(hujson.Literal); ok && lit.String() == name {
			return &m.Value
		}
	}
	return nil
}

// editor inserts into a parsed file in the file's own style. hujson's Patch
// can insert too, but it leaves the whitespace to a later Format, and Format
// re-indents the whole file with tabs and realigns comments: the user's
// layout would not survive. So the editor sets the whitespace and comments
// around a new item itself, copying them from the item's neighbours.
type editor struct {
	nl       string // "\r\n" if the file uses it, else "\n"
	unit     string // one level of indentation
	colon    string // what follows the colon of a member
	trailing bool   // whether a new multi-line object or list ends with a comma
	// lineLists is whether the file has a list with an entry per line. A
	// new list is then written so too, and each entry sandbar adds to it
	// later is a one-line diff.
	lineLists bool
}

func newEditor(root *hujson.Value, body []byte) *editor {
	e := &editor{nl: newline(body), unit: "  ", colon: " ", trailing: true}
	var seenUnit, seenColon, seenTrailing bool
	for v := range root.All() {
		var leads []hujson.Extra
		var closing hujson.Extra
		var last *hujson.Value
		switch c := v.Value.(type) {
		case *hujson.Object:
			for i := range c.Members {
				leads = append(leads, c.Members[i].Name.BeforeExtra)
				if !seenColon && isHorizontalSpace(c.Members[i].Value.BeforeExtra) {
					e.colon, seenColon = string(c.Members[i].Value.BeforeExtra), true
				}
			}
			closing = c.AfterExtra
			if n := len(c.Members); n > 0 {
				last = &c.Members[n-1].Value
			}
		case *hujson.Array:
			for i := range c.Elements {
				leads = append(leads, c.Elements[i].BeforeExtra)
			}
			closing = c.AfterExtra
			if n := len(c.Elements); n > 0 {
				last = &c.Elements[n-1]
			}
		default:
			continue
		}
		if last == nil || !bytes.Contains(leads[0], []byte("\n")) || !bytes.Contains(closing, []byte("\n")) {
			continue // not a multi-line object or list
		}
		if _, ok := v.Value.(*hujson.Array); ok {
			e.lineLists = true
		}
		if !seenTrailing {
			e.trailing, seenTrailing = last.AfterExtra != nil, true
		}
		item, end := lineIndent(leads[0]), lineIndent(closing)
		if !seenUnit && len(item) > len(end) && strings.HasPrefix(item, end) {
			e.unit, seenUnit = item[len(end):], true
		}
	}
	return e
}

// closing is the extra before the closing bracket of a new, empty object
// or list placed at p: it puts the bracket on a line of its own when p
// starts one, so that what is added to it gets lines of its own too.
func (e *editor) closing(p placement) hujson.Extra {
	if p.multiline {
		return hujson.Extra(e.nl + p.indent)
	}
	return nil
}

// placement is where a new item goes: the whitespace and comments before
// it, and what replaces the extra that followed the insertion point (the
// next item's leading extra, or the extra before the closing bracket).
type placement struct {
	lead, follow hujson.Extra
	comma        bool   // the new item is last and takes a trailing comma
	multiline    bool   // the new item starts its own line
	indent       string // the indentation of that line
	// prevAfter, when not nil, becomes the extra between the previous
	// item and the comma that now follows it.
	prevAfter hujson.Extra
}

// place lays out an item inserted at index i of an object or array whose
// items' leading extras are leads and whose closing extra is closing.
// trailing says whether the last item has a trailing comma.
//
// In a multi-line list the new item starts its own line with the indentation
// of its neighbour. A comment on the line that ends before the insertion
// point stays on that line, with the item it follows; comments on lines of
// their own after it stay after it, since they belong to what follows (or
// close the list: after "a", // comment, a final "// more below" stays at
// the end). hujson's Patch makes the same choice for line comments. In an
// empty list the new item goes after any comments, which describe the list.
func (e *editor) place(leads []hujson.Extra, closing hujson.Extra, trailing bool, i int) placement {
	n := len(leads)
	follow := closing
	if i < n {
		follow = leads[i]
	}

	if n == 0 {
		if !bytes.Contains(closing, []byte("\n")) {
			// "[]" becomes ["x"], "[ ]" becomes [ "x" ].
			lead := closing
			if len(lead) > 0 && !isSpace(lead[len(lead)-1]) {
				lead = slices.Concat(lead, hujson.Extra(" "))
			}
			return placement{lead: slices.Clone(lead), follow: leadingSpace(closing)}
		}
		end := lineIndent(closing)
		indent := end + e.unit
		head := bytes.TrimRight(closing, " \t")
		if !bytes.HasSuffix(head, []byte("\n")) {
			head = slices.Concat(head, []byte(e.nl))
		}
		return placement{
			lead:      slices.Concat(head, hujson.Extra(indent)),
			follow:    hujson.Extra(e.nl + end),
			comma:     e.trailing,
			multiline: true,
			indent:    indent,
		}
	}

	ref := leads[max(i-1, 0)]
	if !bytes.Contains(ref, []byte("\n")) {
		// A one-line list: the new item sits between its neighbours on the
		// line, separated as they are.
		sep := hujson.Extra(" ")
		for _, l := range leads[1:] {
			if isHorizontalSpace(l) {
				sep = slices.Clone(l)
				break
			}
		}
		if i == n {
			// A comment between the last item and the bracket, on the
			// line, is about that item ("a" /* vendored */]): it stays
			// with it, before the new comma.
			if head := bytes.TrimRight(closing, " \t"); !trailing && len(head) > 0 && !bytes.ContainsAny(head, "\r\n") {
				return placement{lead: sep, follow: slices.Clone(closing[len(head):]), prevAfter: slices.Clone(head)}
			}
			return placement{lead: sep, follow: closing, comma: trailing}
		}
		return placement{lead: slices.Clone(follow), follow: sep}
	}

	p := placement{comma: i == n && trailing, multiline: true, indent: lineIndent(ref)}
	if cut := lineEnd(follow); cut >= 0 {
		p.lead = slices.Concat(follow[:cut], hujson.Extra(p.indent))
		p.follow = slices.Concat(hujson.Extra(e.nl), follow[cut:])
	} else {
		// The line does not end before the next item or the bracket: the
		// new item starts a line and what followed stays after it.
		head := bytes.TrimRight(follow, " \t")
		p.lead = slices.Concat(head, hujson.Extra(e.nl+p.indent))
		p.follow = slices.Clone(follow[len(head):])
		if i < n && len(p.follow) == 0 {
			p.follow = hujson.Extra(" ")
		}
	}
	return p
}

// addMember inserts a member named name into obj, after the members that
// order lists before it, and returns its value. value makes the value once
// the layout is known.
func (e *editor) addMember(obj *hujson.Object, name string, order []string, value func(placement) hujson.ValueTrimmed) *hujson.Value {
	rank := slices.Index(order, name)
	i := len(obj.Members)
	leads := make([]hujson.Extra, len(obj.Members))
	for j, m := range obj.Members {
		leads[j] = m.Name.BeforeExtra
		if lit, ok := m.Name.Value.(hujson.Literal); ok && i == len(obj.Members) && slices.Index(order, lit.String()) > rank {
			i = j
		}
	}
	p := e.place(leads, obj.AfterExtra, hasTrailingComma(obj), i)

	m := hujson.ObjectMember{
		Name:  hujson.Value{BeforeExtra: p.lead, Value: hujson.String(name)},
		Value: hujson.Value{BeforeExtra: hujson.Extra(e.colon), Value: value(p)},
	}
	if p.comma {
		m.Value.AfterExtra = hujson.Extra{}
	}
	if i < len(obj.Members) {
		obj.Members[i].Name.BeforeExtra = p.follow
	} else {
		obj.AfterExtra = p.follow
	}
	if p.prevAfter != nil {
		obj.Members[i-1].Value.AfterExtra = p.prevAfter
	}
	obj.Members = slices.Insert(obj.Members, i, m)
	return &obj.Members[i].Value
}

// appendElement adds v at the end of arr.
func (e *editor) appendElement(arr *hujson.Array, v hujson.Literal) {
	leads := make([]hujson.Extra, len(arr.Elements))
	for j, el := range arr.Elements {
		leads[j] = el.BeforeExtra
	}
	p := e.place(leads, arr.AfterExtra, hasTrailingComma(arr), len(arr.Elements))
	el := hujson.Value{BeforeExtra: p.lead, Value: v}
	if p.comma {
		el.AfterExtra = hujson.Extra{}
	}
	if p.prevAfter != nil {
		arr.Elements[len(arr.Elements)-1].AfterExtra = p.prevAfter
	}
	arr.AfterExtra = p.follow
	arr.Elements = append(arr.Elements, el)
}

// hasTrailingComma reports whether the object or array has a comma after its
// last item: hujson marks one by a non-nil AfterExtra on the last value.
func hasTrailingComma(c hujson.ValueTrimmed) bool {
	switch c := c.(type) {
	case *hujson.Object:
		return len(c.Members) > 0 && c.Members[len(c.Members)-1].Value.AfterExtra != nil
	case *hujson.Array:
		return len(c.Elements) > 0 && c.Elements[len(c.Elements)-1].AfterExtra != nil
	}
	return false
}

// lineEnd returns the offset just after the first newline in x that is not
// inside a block comment (the newline that ends a line comment counts), or
// -1. The parser has checked that x is whitespace and complete comments.
func lineEnd(x []byte) int {
	for i := 0; i < len(x); {
		switch {
		case x[i] == '\n':
			return i + 1
		case bytes.HasPrefix(x[i:], []byte("//")):
			if j := bytes.IndexByte(x[i:], '\n'); j >= 0 {
				return i + j + 1
			}
			return -1
		case bytes.HasPrefix(x[i:], []byte("/*")):
			j := bytes.Index(x[i+2:], []byte("*/"))
			if j < 0 {
				return -1
			}
			i += 2 + j + 2
		default:
			i++
		}
	}
	return -1
}

// lineIndent returns the spaces and tabs that start the last line of x.
func lineIndent(x []byte) string {
	last := x[bytes.LastIndexByte(x, '\n')+1:]
	return string(leadingSpace(last))
}

func leadingSpace(x []byte) hujson.Extra {
	n := 0
	for n < len(x) && (x[n] == ' ' || x[n] == '\t') {
		n++
	}
	return slices.Clone(x[:n])
}

func isHorizontalSpace(x []byte) bool {
	return len(leadingSpace(x)) == len(x)
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\n'
}

func newline(body []byte) string {
	if bytes.Contains(body, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}
