// Package launch runs one command in the sandbox of a workspace, the same
// way for every front end: `sandbar run` on a terminal and `sandbar serve`
// for an editor both hand it a Job.
//
// A run is, in order: the Spec the workspace.Sandbox makes for the
// command; the proxies (proxy/gate), which decide each connection by the
// rules in force at that moment and ask the Job's Approver about the rest;
// a journal, so that a sandbar killed mid-run still has the protected
// paths checked next time; the command itself, under confine.Runner, with
// every refused write reported as it happens; and, after it, the audit of
// the paths the sandbox protects. Outcome gathers every violation of the
// run, live and found afterwards.
//
// Fail closed: if the proxies cannot start, nothing runs (there is no
// "without network" fallback that could turn into "with the host's
// network"), and a run whose sandbox cannot be built returns a
// *confine.SetupError.
//
// Rules turns a live policy into the compiled rules the proxies ask for
// at every connection, compiling once per policy change; GitPolicy and
// LiveGitPolicy do the same for the git checks. Every run hides the
// private directory of sandbar's git CA (making it first, empty), whether
// or not the policy lists git hosts, so no sandbox can ever read the key.
package launch
