package policy

import "strings"

// MatchEnv reports whether the variable name matches pattern, where "*"
// matches any run of characters, possibly empty. The comparison ignores case
// so that a deny pattern like "*token*" cannot be dodged by spelling the
// variable "GitHub_Token"; over-matching a secret is the safe mistake.
func MatchEnv(pattern, name string) bool {
	p, n := strings.ToUpper(pattern), strings.ToUpper(name)
	// Walk both strings; on a mismatch, go back to the last "*" and let it
	// swallow one more byte. Going back only to the last star is enough
	// because it can absorb anything an earlier star could, so the match
	// never takes exponential time.
	px, nx := 0, 0
	starPx, starNx := -1, 0
	for px < len(p) || nx < len(n) {
		if px < len(p) {
			switch c := p[px]; {
			case c == '*':
				starPx, starNx = px, nx+1
				px++
				continue
			case nx < len(n) && n[nx] == c:
				px++
				nx++
				continue
			}
		}
		if starPx >= 0 && starNx <= len(n) {
			px, nx = starPx+1, starNx
			starNx++
			continue
		}
		return false
	}
	return true
}
