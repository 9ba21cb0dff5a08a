package proxy

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRulesDecide(t *testing.T) {
	rules := Rules{
		Allowed: []string{"example.com", "*.wild.example", "port.example:8443", "Bücher.example",
			"10.0.0.5", "[::1]:8080", "*.both.example", "both.example"},
		Denied: []string{"deny.both.example", "both.example:443"},
	}
	tests := []struct {
		name   string
		target Target
		want   Decision
	}{
		{"exact host, port 443", Target{"example.com", 443}, Decision{Allow, "in allowedDomains"}},
		{"exact host, port 80", Target{"example.com", 80}, Decision{Allow, "in allowedDomains"}},
		{"exact host, other port", Target{"example.com", 8080}, Decision{Ask, "port 8080 not in allowedDomains (its entry allows ports 80 and 443 only)"}},
		{"exact host does not cover subdomain", Target{"www.example.com", 443}, Decision{Ask, "not in allowedDomains"}},
		{"suffix without dot", Target{"evilexample.com", 443}, Decision{Ask, "not in allowedDomains"}},
		{"wildcard subdomain", Target{"a.wild.example", 443}, Decision{Allow, "in allowedDomains"}},
		{"wildcard deep subdomain", Target{"a.b.wild.example", 80}, Decision{Allow, "in allowedDomains"}},
		{"wildcard excludes apex", Target{"wild.example", 443}, Decision{Ask, "not in allowedDomains"}},
		{"wildcard suffix without dot", Target{"evilwild.example", 443}, Decision{Ask, "not in allowedDomains"}},
		{"entry port only", Target{"port.example", 8443}, Decision{Allow, "in allowedDomains"}},
		{"entry port excludes 443", Target{"port.example", 443}, Decision{Ask, "port 443 not in allowedDomains (its entry allows port 8443 only)"}},
		{"idn entry matches punycode", Target{"xn--bcher-kva.example", 443}, Decision{Allow, "in allowedDomains"}},
		{"denied wins over wildcard", Target{"deny.both.example", 443}, Decision{Deny, "in deniedDomains"}},
		{"denied port wins", Target{"both.example", 443}, Decision{Deny, "in deniedDomains"}},
		{"denied port leaves other ports", Target{"both.example", 80}, Decision{Allow, "in allowedDomains"}},
		{"listed ip", Target{"10.0.0.5", 443}, Decision{Allow, "in allowedDomains"}},
		{"listed ip, other port", Target{"10.0.0.5", 22}, Decision{Deny, "IP literal"}},
		{"listed ipv6 with port", Target{"::1", 8080}, Decision{Allow, "in allowedDomains"}},
		{"unlisted ip", Target{"127.0.0.1", 80}, Decision{Deny, "IP literal"}},
		{"unlisted ipv6", Target{"2001:db8::1", 443}, Decision{Deny, "IP literal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rules.Decide(context.Background(), tt.target)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide(%v) (-want +got):\n%s", tt.target, diff)
			}
		})
	}
}

func TestRulesDeniedWithoutPortDeniesEveryPort(t *testing.T) {
	rules := Rules{Allowed: []string{"x.example:22"}, Denied: []string{"x.example"}}
	got := rules.Decide(context.Background(), Target{"x.example", 22})
	if diff := cmp.Diff(Decision{Deny, "in deniedDomains"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRulesIPEntrySpellings(t *testing.T) {
	// An entry in any spelling lists the address it denotes.
	rules := Rules{Allowed: []string{"2130706433"}}
	got := rules.Decide(context.Background(), Target{"127.0.0.1", 80})
	if diff := cmp.Diff(Decision{Allow, "in allowedDomains"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRulesValidate(t *testing.T) {
	rules := Rules{
		Allowed: []string{"example.com", "*.10.0.0.1", "example.com:0", "a..b"},
		Denied:  []string{"ok.example", "bad.example:http"},
	}
	err := rules.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	var got []string
	for l := range strings.SplitSeq(err.Error(), "\n") {
		got = append(got, l[:strings.Index(l, ":")])
	}
	want := []string{`allowedDomains[1] "*.10.0.0.1"`, `allowedDomains[2] "example.com`, `allowedDomains[3] "a..b"`, `deniedDomains[1] "bad.example`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate() errors (-want +got):\n%s\nfull error:\n%v", diff, err)
	}
	if err := (Rules{Allowed: []string{"example.com", "*.example.com", "[::1]:8080", "::1", "10.0.0.5"}}).Validate(); err != nil {
		t.Errorf("Validate() of valid rules = %v", err)
	}
}

func TestRulesListsAddr(t *testing.T) {
	rules := Rules{Allowed: []string{"10.0.0.5", "10.0.0.6:5432", "example.com"}, Denied: []string{"10.0.0.6"}}
	tests := []struct {
		addr string
		want bool
	}{{"10.0.0.5", true}, {"::ffff:10.0.0.5", true}, {"10.0.0.6", false}, {"10.0.0.7", false}}
	for _, tt := range tests {
		if got := rules.ListsAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("ListsAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestCompiledRulesNil(t *testing.T) {
	var c *CompiledRules
	if got, want := c.Decide(context.Background(), Target{"example.com", 443}), (Decision{Ask, "not in allowedDomains"}); got != want {
		t.Errorf("nil CompiledRules: Decide = %v, want %v", got, want)
	}
	if got, want := c.Decide(context.Background(), Target{"10.0.0.5", 443}), (Decision{Deny, "IP literal"}); got != want {
		t.Errorf("nil CompiledRules: Decide = %v, want %v", got, want)
	}
	if c.ListsAddr(netip.MustParseAddr("10.0.0.5")) {
		t.Error("nil CompiledRules: ListsAddr = true, want false")
	}
}

// TestCompileLeavesOutInvalidEntries: an invalid entry matches nothing,
// and the valid entries around it still match.
func TestCompileLeavesOutInvalidEntries(t *testing.T) {
	c := Rules{Allowed: []string{"a..b", "example.com", "*.10.0.0.1"}, Denied: []string{"bad.example:http"}}.Compile()
	for _, tt := range []struct {
		target Target
		want   Decision
	}{
		{Target{"example.com", 443}, Decision{Allow, "in allowedDomains"}},
		{Target{"bad.example", 443}, Decision{Ask, "not in allowedDomains"}},
		{Target{"10.0.0.1", 443}, Decision{Deny, "IP literal"}},
	} {
		if got := c.Decide(context.Background(), tt.target); got != tt.want {
			t.Errorf("Decide(%v) = %v, want %v", tt.target, got, tt.want)
		}
	}
}

// benchRules returns rules of n entries, three allowed for one denied, of
// every kind.
func benchRules(n int) Rules {
	var r Rules
	for i := range n {
		var e string
		switch i % 4 {
		case 0:
			e = fmt.Sprintf("registry%d.example.com", i)
		case 1:
			e = fmt.Sprintf("*.cdn%d.example.net", i)
		case 2:
			e = fmt.Sprintf("git%d.example.org:2222", i)
		case 3:
			e = fmt.Sprintf("10.0.%d.%d", i/256, i%256)
		}
		if i%4 == 3 && i%8 == 7 {
			r.Denied = append(r.Denied, e)
		} else {
			r.Allowed = append(r.Allowed, e)
		}
	}
	return r
}

// BenchmarkRules: what deciding one connection costs, with the rules parsed
// for every decision (Rules) and compiled once (CompiledRules), for a
// target no entry matches, so every entry is looked at.
//
//	go test ./proxy -run '^$' -bench Rules
func BenchmarkRules(b *testing.B) {
	ctx := context.Background()
	target := Target{"unlisted.example.io", 443}
	addr := netip.MustParseAddr("10.9.9.9")
	for _, n := range []int{20, 100} {
		r := benchRules(n)
		c := r.Compile()
		b.Run(fmt.Sprintf("entries=%d/Rules.Decide", n), func(b *testing.B) {
			for b.Loop() {
				r.Decide(ctx, target)
			}
		})
		b.Run(fmt.Sprintf("entries=%d/CompiledRules.Decide", n), func(b *testing.B) {
			for b.Loop() {
				c.Decide(ctx, target)
			}
		})
		b.Run(fmt.Sprintf("entries=%d/CompiledRules.ListsAddr", n), func(b *testing.B) {
			for b.Loop() {
				c.ListsAddr(addr)
			}
		})
		b.Run(fmt.Sprintf("entries=%d/Compile", n), func(b *testing.B) {
			for b.Loop() {
				r.Compile()
			}
		})
	}
}
