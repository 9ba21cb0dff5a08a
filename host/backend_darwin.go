package host

// backend says what confines commands here: Seatbelt (sandbox-exec),
// which comes with macOS. See docs/macos.md for what it enforces and what
// still needs a Mac to verify.
func backend() backendInfo {
	return backendInfo{Backend: "seatbelt", Enforces: []string{"filesystem", "network", "violations"}}
}
