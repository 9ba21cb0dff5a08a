package main

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/gate"
	"github.com/sandbar-dev/sandbar/workspace"
)

// runNetwork is the way out of one run's sandbox: the proxies, deciding
// with the policy as it is at each connection, and what they refused.
type runNetwork struct {
	gate   *gate.Gate
	follow workspace.Watcher
	// compiled are the rules of the policies last seen, compiled.
	compiled atomic.Pointer[compiledRules]

	closeOnce sync.Once
	mu        sync.Mutex
	refused   map[string]*confine.Violation
	order     []string
}

// startNetwork starts the proxies for a sandbox whose policies are ps
// (loaded with opts); each connection is decided by the policy files as
// they are at that moment.
func startNetwork(opts workspace.Options, ps *workspace.Policies, runtimeDir string, approver proxy.Approver, stderr io.Writer) (*runNetwork, error) {
	n := &runNetwork{refused: map[string]*confine.Violation{}}
	n.follow = workspace.CheckPolicies(opts, ps, func(_ *workspace.Policies, err error) {
		if err != nil {
			// The last good policy stays in force.
			errorf(stderr, "the policy changed but cannot be used, so the previous one still applies:")
			reportLoadError(stderr, err)
		}
	})
	g, err := gate.Start(gate.Config{
		Rules:      n.rules,
		Approver:   approver,
		OnEvent:    n.record,
		RuntimeDir: runtimeDir,
	})
	if err != nil {
		return nil, err
	}
	n.gate = g
	return n, nil
}

// compiledRules are the network rules of one Policies value.
type compiledRules struct {
	from  *workspace.Policies
	rules *proxy.CompiledRules
}

// rules returns the rules in force, for every connection. The Checker
// makes a new Policies value at each reload, so the rules are compiled
// again only when the pointer changes.
func (n *runNetwork) rules() *proxy.CompiledRules {
	ps := n.follow.Current()
	if c := n.compiled.Load(); c != nil && c.from == ps {
		return c.rules
	}
	// Two connections at once after a reload may both compile; the rules
	// are the same.
	c := &compiledRules{from: ps, rules: networkRules(ps).Compile()}
	n.compiled.Store(c)
	return c.rules
}

// networkRules are the policies' network entries.
func networkRules(ps *workspace.Policies) proxy.Rules {
	net := ps.Effective.Network
	var r proxy.Rules
	for _, v := range net.AllowedDomains {
		r.Allowed = append(r.Allowed, v.Text)
	}
	for _, v := range net.DeniedDomains {
		r.Denied = append(r.Denied, v.Text)
	}
	return r
}

func (n *runNetwork) record(ev proxy.Event) {
	if ev.Decision != "denied" {
		return
	}
	key := ev.Target + "\x00" + ev.Reason
	n.mu.Lock()
	defer n.mu.Unlock()
	if v, ok := n.refused[key]; ok {
		v.Count++
		return
	}
	n.refused[key] = &confine.Violation{Kind: "network", Target: ev.Target, Decision: ev.Decision, Reason: ev.Reason, Count: 1}
	n.order = append(n.order, key)
}

// env points the command's tools at the relay.
func (n *runNetwork) env(environ []string) []string {
	return gate.Env(environ, confine.SelfPath+" connect %h %p")
}

// close stops the proxies and returns what they refused. It may be
// called more than once.
func (n *runNetwork) close() []confine.Violation {
	n.closeOnce.Do(func() {
		n.gate.Close()
	})
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []confine.Violation
	for _, k := range n.order {
		out = append(out, *n.refused[k])
	}
	return out
}
