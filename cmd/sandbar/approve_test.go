package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/trust"
)

// scripted answers questions from a list and records them.
type scripted struct {
	mu        sync.Mutex
	answers   []byte
	questions []string
	err       error
	// block, if set, holds every question until it is closed.
	block chan struct{}
}

func (s *scripted) ask(ctx context.Context, q, keys string) (byte, error) {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.questions = append(s.questions, q)
	if s.err != nil {
		return 0, s.err
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

func newTestApprover(t *testing.T, a asker) (*approver, string, *trust.Store) {
	t.Helper()
	dir := t.TempDir()
	folder := filepath.Join(dir, "ws")
	os.MkdirAll(folder, 0o755)
	store := trust.Open(filepath.Join(dir, "trust.json"))
	return newApprover(a, folder, dir, store, func(string) {}), folder, store
}

var target = proxy.Target{Host: "registry.example", Port: 443}

func TestApproverOnceHoldsForTheRun(t *testing.T) {
	s := &scripted{answers: []byte{'o'}}
	ap, folder, _ := newTestApprover(t, s)
	for i := range 3 {
		ok, err := ap.Approve(t.Context(), target)
		if !ok || err != nil {
			t.Fatalf("approval %d = %v, %v; want allowed", i, ok, err)
		}
	}
	if len(s.questions) != 1 || !strings.Contains(s.questions[0], "registry.example:443") {
		t.Errorf("questions %q; want one naming registry.example:443", s.questions)
	}
	if _, err := os.Stat(filepath.Join(folder, workspace.PolicyFileName)); err == nil {
		t.Errorf("allow once wrote a policy file")
	}
}

func TestApproverDenyHoldsForTheRun(t *testing.T) {
	s := &scripted{answers: []byte{'d'}}
	ap, _, _ := newTestApprover(t, s)
	for range 2 {
		if ok, _ := ap.Approve(t.Context(), target); ok {
			t.Fatal("allowed after deny")
		}
	}
	if len(s.questions) != 1 {
		t.Errorf("asked %d times; want once", len(s.questions))
	}
}

func TestApproverForThisWorkspace(t *testing.T) {
	s := &scripted{answers: []byte{'w', 'w'}}
	ap, folder, store := newTestApprover(t, s)
	if ok, err := ap.Approve(t.Context(), target); !ok || err != nil {
		t.Fatalf("Approve = %v, %v", ok, err)
	}
	if ok, err := ap.Approve(t.Context(), proxy.Target{Host: "git.example", Port: 8443}); !ok || err != nil {
		t.Fatalf("Approve = %v, %v", ok, err)
	}
	path := filepath.Join(folder, workspace.PolicyFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Port 443 needs no port in the entry; 8443 does.
	for _, want := range []string{`"registry.example"`, `"git.example:8443"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("policy file lacks %s:\n%s", want, b)
		}
	}
	if ok, err := store.Trusted(path, b); !ok || err != nil {
		t.Errorf("the new policy file is not approved (%v, %v); the entry would be ignored", ok, err)
	}
}

func TestApproverFailureDenies(t *testing.T) {
	s := &scripted{err: errors.New("terminal gone")}
	ap, _, _ := newTestApprover(t, s)
	if ok, err := ap.Approve(t.Context(), target); ok || err == nil {
		t.Errorf("Approve = %v, %v; want denied with the error", ok, err)
	}
	noAsker, _, _ := newTestApprover(t, nil)
	noAsker.asker = nil
	if ok, _ := noAsker.Approve(t.Context(), target); ok {
		t.Error("allowed with no one to ask")
	}
}

// A connection waits for its answer; when the proxy stops, it gives up.
func TestApproverWaitsAndGivesUpWithTheProxy(t *testing.T) {
	s := &scripted{answers: []byte{'o'}, block: make(chan struct{})}
	ap, _, _ := newTestApprover(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan bool)
	go func() {
		ok, _ := ap.Approve(ctx, target)
		done <- ok
	}()
	cancel()
	if ok := <-done; ok {
		t.Error("allowed after the proxy stopped waiting")
	}
	// One question at a time: the next asks once the first is answered.
	close(s.block)
	if ok, err := ap.Approve(t.Context(), target); !ok || err != nil {
		t.Errorf("Approve after = %v, %v; want allowed", ok, err)
	}
}

func TestFirstKey(t *testing.T) {
	for line, want := range map[string]byte{"o\n": 'o', " W\n": 'w', "\n": 'd', "yes\n": 'd', "deny": 'd'} {
		if got := firstKey(line, "owd"); got != want {
			t.Errorf("firstKey(%q) = %c; want %c", line, got, want)
		}
	}
}
