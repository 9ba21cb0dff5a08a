// Package e2e drives the real sandbar binary the way a user or an editor
// does: it builds ./cmd/sandbar (or uses $SANDBAR_BIN), runs it on real
// workspaces with real bubblewrap, and checks what happened on the host
// afterwards.
//
// The tests never skip where bubblewrap is missing (set
// SANDBAR_ALLOW_SKIP=1 on a machine that cannot have it). bench_test.go
// holds the start-up benchmark the README quotes.
package e2e
