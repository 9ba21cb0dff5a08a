package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// FileName is the log's name in sandbar's state directory.
const FileName = "audit.jsonl"

// DefaultMaxSize is the size past which the log is rotated unless
// Options say otherwise.
const DefaultMaxSize = 10 << 20

// Kinds of access.
const (
	KindNetwork    = "network"    // Target is host:port
	KindFile       = "file"       // Target is a path
	KindTrust      = "trust"      // Target is a repository policy file
	KindUnconfined = "unconfined" // a command run without the sandbox
	KindRun        = "run"        // a command started under the sandbox
)

// Decisions.
const (
	Allowed = "allowed"
	Denied  = "denied"
)

// How a decision was reached. A question that got no answer
// (HowTimeout, HowDismissed, HowNoOneToAsk) always ends in Denied:
// sandbar fails closed.
const (
	HowPolicy     = "policy"        // the policy decided; no one was asked
	HowAsked      = "asked"         // someone answered; see By and Answer
	HowTimeout    = "timeout"       // asked, and no answer came in time
	HowDismissed  = "dismissed"     // asked, and the question was closed unanswered
	HowNoOneToAsk = "no-one-to-ask" // the policy said ask, but there was no editor or terminal
	HowDefault    = "default"       // no policy entry matched; the built-in default decided
)

// Entry is one decision, one line of the log.
type Entry struct {
	// Time is when the decision was made; Append fills it in when zero.
	Time time.Time `json:"time"`
	// Kind is what was accessed: one of the Kind constants.
	Kind string `json:"kind"`
	// Target is what the access was to: host:port, a path, a folder.
	Target string `json:"target,omitempty"`
	// Operation is what was done to Target, where Kind alone does not
	// say: "connect", "write", "create", "approve".
	Operation string `json:"operation,omitempty"`
	// Decision is Allowed or Denied.
	Decision string `json:"decision"`
	// How is how the decision was reached: one of the How constants.
	How string `json:"how"`
	// By is who decided: "user (Visual Studio Code)", "user (terminal)",
	// "policy".
	By string `json:"by,omitempty"`
	// Answer is the title of the action the user chose, as shown to
	// them: "Allow for workspace".
	Answer string `json:"answer,omitempty"`
	// Reason says why, in words: the policy entry that matched, the
	// error that ended a question.
	Reason string `json:"reason,omitempty"`
	// Run is the id of the run the access came from.
	Run string `json:"run,omitempty"`
	// Command is that run's command line.
	Command []string `json:"command,omitempty"`
	// Folder is the workspace folder of the run.
	Folder string `json:"folder,omitempty"`
	// PID is the process id of the sandbar that decided (not of the
	// confined command); Append fills it in when zero.
	PID int `json:"pid,omitempty"`
}

// Options tune a Log; the zero value is what sandbar uses.
type Options struct {
	// MaxSize is the size in bytes the file may reach before it is
	// rotated; 0 means DefaultMaxSize.
	MaxSize int64
	// Now is the clock that stamps entries; nil means time.Now.
	Now func() time.Time
}

// Log appends entries to an audit log file. It is safe for concurrent use,
// and several processes may append to the same file at once. A nil *Log
// records nothing, so callers that have no log can pass nil.
type Log struct {
	path    string
	maxSize int64
	now     func() time.Time
	// mu keeps this process's goroutines from queueing on flock one OS
	// thread each; the flock is what orders different processes.
	mu sync.Mutex
}

// Open returns the log kept at path. Nothing is touched until the first
// Append, so opening never fails, and a sandbar that decides nothing
// leaves no file.
func Open(path string, opts Options) *Log {
	l := &Log{path: path, maxSize: opts.MaxSize, now: opts.Now}
	if l.maxSize <= 0 {
		l.maxSize = DefaultMaxSize
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// Path is where the log lives; "" for a nil Log.
func (l *Log) Path() string {
	if l == nil {
		return ""
	}
	return l.path
}

// maxAttempts bounds how often Append starts over because another
// process rotated or removed the file between its open and its lock.
const maxAttempts = 100

// Append writes e as one line, stamping Time and PID when they are zero.
// An entry without Kind or Decision is refused: a line that does not say
// what was decided is no record.
func (l *Log) Append(e Entry) error {
	if l == nil {
		return nil
	}
	if e.Kind == "" || e.Decision == "" {
		return fmt.Errorf("appending to audit log %s: entry has no kind or no decision: %+v", l.path, e)
	}
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	if e.PID == 0 {
		e.PID = os.Getpid()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("appending to audit log %s: %w", l.path, err)
	}
	line = append(line, '\n')

	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("appending to audit log: %w", err)
	}
	for range maxAttempts {
		done, err := l.tryAppend(line)
		if err != nil {
			return fmt.Errorf("appending to audit log: %w", err)
		}
		if done {
			return nil
		}
	}
	return fmt.Errorf("appending to audit log %s: the file was replaced %d times while waiting to write", l.path, maxAttempts)
}

// tryAppend writes line to the file now named l.path, rotating it first
// if line would take it past maxSize. It reports false, with nothing
// written, when the file it opened stopped being l.path before it got the
// lock: another process rotated it, and the line belongs in the new file.
func (l *Log) tryAppend(line []byte) (bool, error) {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return false, err
	}
	defer f.Close() // also releases the lock
	size, current, err := lockCurrent(f, l.path, unix.LOCK_EX)
	if err != nil || !current {
		return false, err
	}
	if size > 0 && size+int64(len(line)) > l.maxSize {
		// Under the lock, and only on the file that is still l.path: a
		// process that waited for this lock finds a different file
		// named l.path and starts over on it instead of rotating again.
		if err := os.Rename(l.path, l.path+".1"); err != nil {
			return false, fmt.Errorf("rotating: %w", err)
		}
		return false, nil
	}
	if size > 0 {
		// A write cut short (a full disk, a crash of the machine) leaves
		// a line without its newline; the next line must not be glued to
		// it, or Read would lose a good entry along with the torn one.
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			return false, fmt.Errorf("reading %s: %w", l.path, err)
		}
		if last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	// One write(2) with O_APPEND: the line lands whole at the end,
	// whatever other processes append.
	if _, err := f.Write(line); err != nil {
		return false, fmt.Errorf("writing %s: %w", l.path, err)
	}
	return true, nil
}

// lockCurrent takes a flock of the given kind on f, then reports f's size
// and whether f is still the file named path. The lock is on the file,
// not the name, so a lock taken on a file renamed away while waiting
// orders nothing.
func lockCurrent(f *os.File, path string, how int) (size int64, current bool, err error) {
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return 0, false, fmt.Errorf("locking %s: %w", path, err)
	}
	held, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	named, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return held.Size(), os.SameFile(held, named), nil
}

// Read returns the last n entries of the log at path, oldest first, from
// the older generation (path.1) and then path; n <= 0 means all of them.
// Lines that are not entries (one cut short by a crash, say) are passed
// over rather than stop the reading: skipped counts those met while
// collecting the n entries. A log that does not exist yet has no
// entries.
func Read(path string, n int) (entries []Entry, skipped int, err error) {
	older, current, err := readGenerations(path)
	if err != nil {
		return nil, 0, fmt.Errorf("reading audit log: %w", err)
	}
	// Newest first, so the files are parsed only as far back as needed.
	for _, data := range [][]byte{current, older} {
		for len(data) > 0 && (n <= 0 || len(entries) < n) {
			var line []byte
			data = bytes.TrimSuffix(data, []byte("\n"))
			if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
				data, line = data[:i+1], data[i+1:]
			} else {
				data, line = nil, data
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var e Entry
			if err := json.Unmarshal(line, &e); err != nil || e.Decision == "" {
				skipped++
				continue
			}
			entries = append(entries, e)
		}
	}
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries, skipped, nil
}

// readGenerations reads path.1 and path. It holds a shared lock on path
// meanwhile, so no one rotates between the two reads, which would make the
// generation that was path vanish from view.
func readGenerations(path string) (older, current []byte, err error) {
	for range maxAttempts {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			// Nothing appended since the last rotation, if ever.
			older, err := readIfExists(path + ".1")
			return older, nil, err
		}
		if err != nil {
			return nil, nil, err
		}
		_, ok, err := lockCurrent(f, path, unix.LOCK_SH)
		if err == nil && ok {
			older, err = readIfExists(path + ".1")
			if err == nil {
				current, err = readAll(f)
			}
		}
		f.Close()
		if err != nil || ok {
			return older, current, err
		}
	}
	return nil, nil, fmt.Errorf("%s was replaced %d times while waiting to read it", path, maxAttempts)
}

func readIfExists(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func readAll(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return buf.Bytes(), nil
}
