//go:build !linux && !darwin

package host

// explainHeader has nothing to add where there is no backend:
// confine.Explain fails there.
func explainHeader() string { return "" }
