// Package trust records which repository policy files the user approved.
//
// Anyone can commit a .sandbar/policy.jsonc to a repository, so a policy
// found in a workspace folder is untrusted input. Its entries that narrow
// the sandbox always apply; its entries that widen it apply only once the
// user has approved that exact file content at that exact path. The
// approvals live in one file outside every workspace
// ($XDG_STATE_HOME/sandbar/trust.json), which sandbar also keeps read-only
// inside every sandbox, so a confined command cannot approve its own
// policy. Any change to the file's bytes, even a comment, needs approval
// again: the approval is for what the user read.
package trust
