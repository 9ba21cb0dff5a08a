package host

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Callers that come while a question is being asked get its answer
// instead of a question of their own.
func TestPromptsShareOneQuestion(t *testing.T) {
	var p prompts
	var asked atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	ask := func() (string, error) {
		if asked.Add(1) == 1 {
			close(started)
		}
		<-release
		return "Allow once", nil
	}
	var wg sync.WaitGroup
	answers := make([]string, 5)
	wg.Add(1)
	go func() {
		defer wg.Done()
		answers[0], _ = p.share(context.Background(), "k", ask)
	}()
	<-started
	for i := 1; i < len(answers); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], _ = p.share(context.Background(), "k", ask)
		}()
	}
	// Every caller is waiting on the pending question before it is
	// answered.
	for {
		p.mu.Lock()
		n := p.pending["k"].waiters
		p.mu.Unlock()
		if n == len(answers) {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if n := asked.Load(); n != 1 {
		t.Errorf("asked %d times; want once for all %d callers", n, len(answers))
	}
	for i, a := range answers {
		if a != "Allow once" {
			t.Errorf("caller %d got %q; want the shared answer", i, a)
		}
	}
}

// A caller that goes away stops waiting, and does not withdraw the
// question from the others.
func TestPromptsCallerGoesAway(t *testing.T) {
	var p prompts
	release := make(chan struct{})
	started := make(chan struct{})
	go p.share(context.Background(), "k", func() (string, error) {
		close(started)
		<-release
		return "Deny", nil
	})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.share(ctx, "k", nil); err != context.Canceled {
		t.Errorf("a cancelled caller got %v; want context.Canceled", err)
	}
	done := make(chan string)
	go func() {
		a, _ := p.share(context.Background(), "k", func() (string, error) { return "asked again", nil })
		done <- a
	}()
	close(release)
	if a := <-done; a != "Deny" && a != "asked again" {
		t.Errorf("a later caller got %q", a)
	}
}
