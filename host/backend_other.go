//go:build !linux

package host

// backend says what confines commands here: nothing yet (the macOS
// backend is still to come), so every run fails closed.
func backend() backendInfo {
	return backendInfo{Backend: "none", Enforces: []string{}}
}
