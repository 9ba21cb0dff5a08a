package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
)

// A journal lets a later sandbar finish the audit of a run whose sandbar
// was killed (SIGKILL cannot be caught, so nothing runs Audit when the
// command ends). The run writes its journal before the command starts and
// removes it after Audit; RecoverJournals, called at the start of every
// run, audits the journals of sandbars that are gone.
type Journal struct{ path string }

type journalData struct {
	Pid      int
	PidStart string // the process's start time, so a reused PID is not mistaken for it
	Home     string
	Paths    []confine.Path
	Watch    []Watched
	Repos    []string
	// Roots are the scanned roots; recovery walks them afresh rather
	// than carry every run's scan in its journal.
	Roots     []string
	StartedAt time.Time
}

// journalHeader starts a journal file.
const journalHeader = "sandbar journal 1"

// Journal records what Audit needs in dir.
func (sb *Sandbox) Journal(dir string) (*Journal, error) {
	d := journalData{
		Pid: os.Getpid(), PidStart: procStart(os.Getpid()),
		Home: sb.home, Paths: sb.Paths, Watch: sb.Watch, Repos: sb.Repos,
		StartedAt: sb.now(),
	}
	for _, sc := range sb.scans {
		d.Roots = append(d.Roots, sc.Root)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("writing run journal: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%d-%d.journal", d.Pid, time.Now().UnixNano()))
	if err := os.WriteFile(path, d.marshal(), 0o600); err != nil {
		return nil, fmt.Errorf("writing run journal: %w", err)
	}
	return &Journal{path: path}, nil
}

func (d *journalData) marshal() []byte {
	w := newWireWriter(journalHeader)
	w.int(int64(d.Pid))
	w.string(d.PidStart)
	w.string(d.Home)
	w.uint(uint64(len(d.Paths)))
	for _, p := range d.Paths {
		w.string(p.Path)
		w.int(int64(p.Access))
		w.bool(p.Dir)
		w.string(p.Why)
	}
	w.uint(uint64(len(d.Watch)))
	for _, wt := range d.Watch {
		w.string(wt.Path)
		w.string(wt.Rule)
	}
	w.strings(d.Repos)
	w.strings(d.Roots)
	w.int(d.StartedAt.UnixNano())
	return w.b
}

func unmarshalJournal(b []byte) (journalData, error) {
	r := newWireReader(b, journalHeader)
	d := journalData{Pid: int(r.int()), PidStart: r.string(), Home: r.string()}
	for n, i := r.count(), 0; i < n && r.err == nil; i++ {
		d.Paths = append(d.Paths, confine.Path{Path: r.string(), Access: confine.Access(r.int()), Dir: r.bool(), Why: r.string()})
	}
	for n, i := r.count(), 0; i < n && r.err == nil; i++ {
		d.Watch = append(d.Watch, Watched{Path: r.string(), Rule: r.string()})
	}
	d.Repos = r.strings()
	d.Roots = r.strings()
	d.StartedAt = time.Unix(0, r.int())
	return d, r.end()
}

// Done removes the journal once the run's own Audit is complete.
func (j *Journal) Done() error {
	if err := os.Remove(j.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing run journal: %w", err)
	}
	return nil
}

// RecoverJournals audits the runs in dir whose sandbar is no longer
// running, quarantining what their commands left at protected paths, and
// removes their journals.
func RecoverJournals(dir, quarantine string) ([]confine.Violation, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading run journals: %w", err)
	}
	var out []confine.Violation
	var errs []error
	for _, e := range ents {
		path := filepath.Join(dir, e.Name())
		if pid, ok := legacyJournal(e.Name()); ok {
			// A journal of a sandbar from before this format, which cannot
			// be read any more: say so once its sandbar is gone.
			if procStart(pid) == "" {
				errs = append(errs, fmt.Errorf("run journal %s was written by an earlier version of sandbar and cannot be read; the run it records was not checked, and the journal was removed", path))
				os.Remove(path)
			}
			continue
		}
		if !strings.HasSuffix(e.Name(), ".journal") {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		d, err := unmarshalJournal(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("run journal %s is damaged (%v); it was removed", path, err))
			os.Remove(path)
			continue
		}
		if d.PidStart != "" && procStart(d.Pid) == d.PidStart {
			continue // that sandbar is still running
		}
		sb := &Sandbox{home: d.Home, Paths: d.Paths, Watch: d.Watch, Repos: d.Repos, now: time.Now}
		for _, root := range d.Roots {
			sb.scans = append(sb.scans, &scan{Root: root})
		}
		vs, err := sb.Audit(quarantine)
		for i := range vs {
			vs[i].Rule += " (left by a run whose sandbar was killed at " + d.StartedAt.Format(time.RFC3339) + " or later)"
		}
		out = append(out, vs...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		os.Remove(path)
	}
	return out, errors.Join(errs...)
}

// legacyJournal reports whether name is a journal in the gob format of
// earlier versions, and the PID of the sandbar that wrote it.
func legacyJournal(name string) (pid int, ok bool) {
	base, found := strings.CutSuffix(name, ".gob")
	if !found {
		return 0, false
	}
	p, _, _ := strings.Cut(base, "-")
	pid, err := strconv.Atoi(p)
	return pid, err == nil
}

// procStart is a process's start time in clock ticks since boot, or ""
// when there is no such process.
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name, in parentheses, may hold spaces; fields count
	// from after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}
