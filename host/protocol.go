package host

// The messages of the protocol, as they are on the wire. docs/protocol.md
// describes each; every field has an explicit JSON name, since the JSON
// library matches names case-sensitively (protocol_test.go checks).

// LSP's own messages, the parts the host reads or writes.

type initializeParams struct {
	ProcessID        *int               `json:"processId"`
	ClientInfo       *clientInfo        `json:"clientInfo"`
	RootURI          *string            `json:"rootUri"`
	RootPath         *string            `json:"rootPath"`
	WorkspaceFolders []workspaceFolder  `json:"workspaceFolders"`
	Capabilities     clientCapabilities `json:"capabilities"`
	// InitializationOptions are the host's settings.
	InitializationOptions *initializationOptions `json:"initializationOptions"`
}

type clientInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type workspaceFolder struct {
	URI  string `json:"uri"`
	Name string `json:"name"`
}

type clientCapabilities struct {
	General *generalClientCapabilities `json:"general"`
}

type generalClientCapabilities struct {
	PositionEncodings []string `json:"positionEncodings"`
}

type initializeResult struct {
	Capabilities serverCapabilities `json:"capabilities"`
	ServerInfo   serverInfo         `json:"serverInfo"`
}

type serverInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type serverCapabilities struct {
	PositionEncoding string                 `json:"positionEncoding"`
	Workspace        workspaceCapabilities  `json:"workspace"`
	Experimental     experimentalCapability `json:"experimental"`
}

type workspaceCapabilities struct {
	WorkspaceFolders workspaceFoldersCapability `json:"workspaceFolders"`
}

type workspaceFoldersCapability struct {
	Supported           bool `json:"supported"`
	ChangeNotifications bool `json:"changeNotifications"`
}

type experimentalCapability struct {
	Sandbar backendInfo `json:"sandbar"`
}

// backendInfo is what confines commands on this machine.
type backendInfo struct {
	Backend  string   `json:"backend"`
	Version  string   `json:"version"`
	Enforces []string `json:"enforces"`
	// HostSocket is where `sandbar run` in the editor's terminals reaches
	// this host: editors put it in their terminals' environment as
	// SANDBAR_HOST. Empty when the socket could not be made.
	HostSocket string `json:"hostSocket,omitempty"`
}

type didChangeWorkspaceFoldersParams struct {
	Event workspaceFoldersChangeEvent `json:"event"`
}

type workspaceFoldersChangeEvent struct {
	Added   []workspaceFolder `json:"added"`
	Removed []workspaceFolder `json:"removed"`
}

// Message types of window/showMessage and window/logMessage.
const (
	messageError   = 1
	messageWarning = 2
	messageInfo    = 3
	messageLog     = 4
)

type messageParams struct {
	Type    int    `json:"type"`
	Message string `json:"message"`
}

type publishDiagnosticsParams struct {
	URI         string       `json:"uri"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

type diagnostic struct {
	Range    lspRange `json:"range"`
	Severity int      `json:"severity"`
	Source   string   `json:"source"`
	Message  string   `json:"message"`
}

type lspRange struct {
	Start position `json:"start"`
	End   position `json:"end"`
}

// position is 0-based; Character counts in the negotiated encoding.
type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

const severityError = 1

// sandbar's own methods.

type policyParams struct {
	Folder string `json:"folder,omitempty"`
}

type policyResult struct {
	Generation int64        `json:"generation"`
	Folder     string       `json:"folder"`
	Folders    []string     `json:"folders"`
	Backend    string       `json:"backend"`
	Files      []policyFile `json:"files"`
	Rules      []rule       `json:"rules"`
	Ignored    []ignored    `json:"ignored"`
	Warnings   []string     `json:"warnings"`
}

type policyFile struct {
	Path    string `json:"path"`
	URI     string `json:"uri"`
	Folder  string `json:"folder,omitempty"`
	Trusted bool   `json:"trusted"`
}

// source is where an entry was written: line and column are 1-based, the
// column in bytes, as in the file:line:col of sandbar's messages.
type source struct {
	File   string `json:"file"`
	URI    string `json:"uri,omitempty"`
	Line   int    `json:"line,omitzero"`
	Column int    `json:"column,omitzero"`
}

type rule struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	source `json:",inline"`
}

type ignored struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
	source `json:",inline"`
}

type policyApplied struct {
	Generation int64         `json:"generation"`
	Folder     *string       `json:"folder"`
	OK         bool          `json:"ok"`
	Errors     []policyError `json:"errors"`
	Cause      string        `json:"cause"`
}

// policyError is one problem of a policy; a problem that is not at a place
// in a file (a folder that does not exist) has only a message.
type policyError struct {
	Message string `json:"message"`
	source  `json:",inline"`
}

// The causes of a reload.
const (
	causeInitialize = "initialize"
	causeFolders    = "workspaceFolders"
	causeFile       = "policyFile"
	causeTrust      = "trust"
)

type explainParams struct {
	Argv []string `json:"argv"`
	Cwd  string   `json:"cwd,omitempty"`
}

type explainResult struct {
	Backend string `json:"backend"`
	Cwd     string `json:"cwd"`
	Text    string `json:"text"`
}

// policyErrorData is the data of an error answering a request that needs
// a policy when none can be used.
type policyErrorData struct {
	Errors []policyError `json:"errors"`
}

type runParams struct {
	// RunID names the run in sandbar/output, sandbar/input and the
	// result; empty: the host makes one ("r1", "r2"...).
	RunID string   `json:"runId,omitempty"`
	Argv  []string `json:"argv"`
	Cwd   string   `json:"cwd,omitempty"`
	// Env adds to (or replaces in) the sandbox's environment.
	Env map[string]string `json:"env,omitempty"`
	// Stdin is the command's whole input; without it (and without
	// StdinOpen) the command reads /dev/null.
	Stdin *string `json:"stdin,omitempty"`
	// StdinOpen keeps the input open for sandbar/input until it sends
	// eof.
	StdinOpen  bool     `json:"stdinOpen,omitempty"`
	TimeoutMs  int64    `json:"timeoutMs,omitempty"`
	Pty        *ptySize `json:"pty,omitempty"`
	Unconfined bool     `json:"unconfined,omitempty"`
}

type ptySize struct {
	Cols uint16 `json:"cols"`
	Rows uint16 `json:"rows"`
}

type runResult struct {
	RunID      string      `json:"runId"`
	ExitCode   int         `json:"exitCode"`
	Signal     *string     `json:"signal"`
	DurationMs int64       `json:"durationMs"`
	Violations []violation `json:"violations"`
	Cancelled  bool        `json:"cancelled"`
	TimedOut   bool        `json:"timedOut"`
	Confined   bool        `json:"confined"`
	// Rerun is the result of running the command again after the user
	// chose "Allow and re-run".
	Rerun *runResult `json:"rerun,omitempty"`
	// Allowed are the policy entries the user added when choosing
	// "Allow and re-run".
	Allowed []string `json:"allowed,omitempty"`
}

// violation is one refusal, in sandbar/run's result and in
// sandbar/violation as it happens.
type violation struct {
	RunID     string `json:"runId,omitempty"`
	Kind      string `json:"kind"`
	Operation string `json:"operation,omitempty"`
	Path      string `json:"path,omitempty"`
	Target    string `json:"target,omitempty"`
	Decision  string `json:"decision"`
	Reason    string `json:"reason,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Pid       int    `json:"pid,omitempty"`
	Comm      string `json:"comm,omitempty"`
	Count     int    `json:"count"`
	Undone    string `json:"undone,omitempty"`
}

type outputParams struct {
	RunID  string `json:"runId"`
	Stream string `json:"stream"`
	Data   string `json:"data"`
}

type runStarted struct {
	RunID string   `json:"runId"`
	Argv  []string `json:"argv"`
	Cwd   string   `json:"cwd"`
}

type inputParams struct {
	RunID string `json:"runId"`
	Data  string `json:"data"`
	EOF   bool   `json:"eof,omitempty"`
}

type resizeParams struct {
	RunID string `json:"runId"`
	Cols  uint16 `json:"cols"`
	Rows  uint16 `json:"rows"`
}

type showMessageRequestParams struct {
	Type    int                 `json:"type"`
	Message string              `json:"message"`
	Actions []messageActionItem `json:"actions"`
}

type messageActionItem struct {
	Title string `json:"title"`
}

type trustParams struct {
	Folder string `json:"folder"`
}

type trustResult struct {
	Folder  string   `json:"folder"`
	Path    string   `json:"path"`
	Trusted bool     `json:"trusted"`
	Widens  []string `json:"widens"`
	Answer  string   `json:"answer"`
}

// initializationOptions are the host's settings an editor may pass in
// initialize.
type initializationOptions struct {
	// ApprovalTimeoutMs is how long a prompt waits for an answer; 0 means
	// the default (60 s).
	ApprovalTimeoutMs int64 `json:"approvalTimeoutMs,omitempty"`
}

// askParams is a question from `sandbar run` in one of the editor's
// terminals, on the host's terminal socket.
type askParams struct {
	// Kind is "network" (Host and Port) or "push" (Repository and
	// Refs: the first push of the run to a repository the policy does
	// not list).
	Kind       string   `json:"kind"`
	Host       string   `json:"host,omitempty"`
	Port       int      `json:"port,omitempty"`
	Repository string   `json:"repository,omitempty"`
	Refs       []string `json:"refs,omitempty"`
	Argv       []string `json:"argv"`
	Folder     string   `json:"folder"`
}

type askResult struct {
	Answer  string `json:"answer"`
	Allowed bool   `json:"allowed"`
}
