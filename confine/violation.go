package confine

// Violation is one thing the sandbox refused, or one thing a command did
// that sandbar had to undo afterwards. The fields are the contract of
// `sandbar run --report` and of the editor host's notifications.
type Violation struct {
	// Kind is "file-write", "file-read" or "socket".
	Kind string `json:"kind"`
	// Operation is what was tried: "create", "write", "rename", ...
	Operation string `json:"operation"`
	Path      string `json:"path"`
	Pid       int    `json:"pid,omitempty"`
	Comm      string `json:"comm,omitempty"`
	// Rule names the policy entry or built-in protection that refused it.
	Rule string `json:"rule"`
	// Count is how many times it happened in the run.
	Count int `json:"count"`
	// Undone says what sandbar did to reverse it, when it was only found
	// after the command ended.
	Undone string `json:"undone,omitempty"`
}
