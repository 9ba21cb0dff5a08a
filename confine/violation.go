package confine

// Violation is one thing the sandbox refused, or one thing a command did
// that sandbar had to undo afterwards. The fields are the contract of
// `sandbar run --report` and of the editor host's notifications.
type Violation struct {
	// Kind is "file-write", "file-read", "socket" or "network".
	Kind string `json:"kind"`
	// Operation is what was tried: "create", "write", "truncate",
	// "mkdir", "mknod", "rename", "link", "symlink", "unlink", "rmdir",
	// "chmod", "chown", "utimes", "setxattr", "removexattr", "socket".
	Operation string `json:"operation,omitempty"`
	// Path is the absolute path the kernel acted on, symbolic links
	// resolved; for a socket, its family and type ("AF_UNIX",
	// "AF_INET SOCK_RAW").
	Path string `json:"path,omitempty"`
	// Target, Decision and Reason describe a network violation: the
	// host:port the command tried to reach, "denied", and why.
	Target   string `json:"target,omitempty"`
	Decision string `json:"decision,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Pid      int    `json:"pid,omitempty"`
	Comm     string `json:"comm,omitempty"`
	// Rule names the policy entry or built-in protection that refused it.
	Rule string `json:"rule,omitempty"`
	// Count is how many times it happened in the run.
	Count int `json:"count"`
	// Undone says what sandbar did to reverse it, when it was only found
	// after the command ended.
	Undone string `json:"undone,omitempty"`
}
