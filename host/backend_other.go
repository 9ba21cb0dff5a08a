//go:build !linux && !darwin

package host

// backend says what confines commands here: nothing (sandbar has
// backends for Linux and macOS only), so every run fails closed.
func backend() backendInfo {
	return backendInfo{Backend: "none", Enforces: []string{}}
}
