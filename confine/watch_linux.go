package confine

import (
	"context"
	"os"
	"sync"
	"sync/atomic"

	"github.com/sandbar-dev/sandbar/confine/notify"
)

// watcher serves the init's creation watch: it refuses the creation of a
// Spec's Uncreatable paths and counts each refusal.
type watcher struct {
	cancel context.CancelFunc
	done   chan struct{}

	// created counts every call that could create a directory entry.
	created atomic.Int64

	mu       sync.Mutex
	refused  []Violation
	index    map[[2]string]int
	listener int
}

func startWatch(sock *os.File, uncreatable []Path) *watcher {
	rules := map[string]string{}
	for _, u := range uncreatable {
		rules[u.Path] = u.Why
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cancel: cancel, done: make(chan struct{}), index: map[[2]string]int{}, listener: -1}
	go func() {
		defer close(w.done)
		// The init sends the listener once its filter is in place; if it
		// never does (bwrap failed), the socket closes and this returns.
		listener, err := notify.RecvFD(int(sock.Fd()))
		if err != nil {
			return
		}
		w.mu.Lock()
		w.listener = listener
		w.mu.Unlock()
		notify.ServeCounting(ctx, listener, func(op notify.Op) bool {
			rule, ok := rules[op.Path]
			if !ok {
				return false
			}
			w.record(op, rule)
			return true
		}, &w.created)
	}()
	return w
}

func (w *watcher) record(op notify.Op, rule string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := [2]string{op.Operation, op.Path}
	if i, ok := w.index[key]; ok {
		w.refused[i].Count++
		return
	}
	w.index[key] = len(w.refused)
	w.refused = append(w.refused, Violation{
		Kind: "file-write", Operation: op.Operation, Path: op.Path,
		Pid: op.Pid, Comm: op.Comm, Rule: rule, Count: 1,
	})
}

// stop ends the watch once the sandbox is gone and returns what it
// refused, and whether the command created no directory entry at all
// (false if the watch never started).
func (w *watcher) stop() (refused []Violation, createdNothing bool) {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.listener < 0 {
		return w.refused, false
	}
	closeFD(w.listener)
	return w.refused, w.created.Load() == 0
}

func closeFD(fd int) { os.NewFile(uintptr(fd), "listener").Close() }
