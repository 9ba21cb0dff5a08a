package host

import (
	"context"
	"slices"
	"time"
)

// state is where a session is in LSP's lifecycle.
type state int

const (
	// stateNew: before initialize. Requests get -32002, notifications
	// are dropped, exit ends the host with status 1.
	stateNew state = iota
	// stateRunning: after initialize, every method is served.
	stateRunning
	// stateShutdown: after shutdown, only exit is; it ends the host
	// with status 0.
	stateShutdown
)

// route is the lifecycle's gate in front of the methods.
func (h *host) route(name string, isCall bool) (method, error) {
	m, known := h.methods[name]
	h.mu.Lock()
	st := h.state
	h.mu.Unlock()
	switch {
	case name == "exit":
		return m, nil
	case st == stateNew && name != "initialize":
		if !isCall {
			return method{}, errDropped // as LSP says
		}
		return method{}, errorf(codeServerNotInitialized, "%s before initialize: send initialize first", name)
	case st == stateShutdown:
		return method{}, errorf(codeInvalidRequest, "%s after shutdown: the host only takes exit now", name)
	case !known && !isCall:
		return method{}, errDropped // "$/..." and notifications of features the host does not offer
	case !known:
		return method{}, errorf(codeMethodNotFound, "unknown method %s", name)
	}
	return m, nil
}

func (h *host) initialize(ctx context.Context, p initializeParams) (initializeResult, error) {
	folders, warnings := initialFolders(p)
	encoding := encodingUTF16
	if p.Capabilities.General != nil && slices.Contains(p.Capabilities.General.PositionEncodings, encodingUTF8) {
		// Policy errors are found in bytes: no conversion is exact too.
		encoding = encodingUTF8
	}
	b := backend()
	h.mu.Lock()
	if h.state != stateNew {
		h.mu.Unlock()
		return initializeResult{}, errorf(codeInvalidRequest, "initialize was already called: a session is initialized once")
	}
	h.state = stateRunning
	h.folders = folders
	if o := p.InitializationOptions; o != nil && o.ApprovalTimeoutMs > 0 {
		h.approvalTimeout = time.Duration(o.ApprovalTimeoutMs) * time.Millisecond
	}
	h.encoding = encoding
	h.backend = b
	if p.ClientInfo != nil {
		h.client = *p.ClientInfo
	}
	h.mu.Unlock()

	if h.placesErr == nil {
		t, err := h.listenTerminals(h.places.HostSockets)
		if err != nil {
			h.logf(messageWarning, "%v; sandbar run in the editor's terminals will ask on the terminal instead", err)
		} else {
			h.mu.Lock()
			h.terminals = t
			h.mu.Unlock()
			b.HostSocket = t.path
		}
	}
	h.logf(messageInfo, "session for %s: %d workspace folder(s), positions in %s, backend %s %s", clientName(p.ClientInfo), len(folders), encoding, b.Backend, b.Version)
	for _, w := range warnings {
		h.logf(messageWarning, "%s", w)
	}
	return initializeResult{
		Capabilities: serverCapabilities{
			PositionEncoding: encoding,
			Workspace: workspaceCapabilities{
				WorkspaceFolders: workspaceFoldersCapability{Supported: true, ChangeNotifications: true},
			},
			Experimental: experimentalCapability{Sandbar: b},
		},
		ServerInfo: serverInfo{Name: "sandbar", Version: h.cfg.Version},
	}, nil
}

func clientName(c *clientInfo) string {
	if c == nil || c.Name == "" {
		return "an unnamed editor"
	}
	if c.Version != "" {
		return c.Name + " " + c.Version
	}
	return c.Name
}

// initialized starts following the policy: its first load is reported now
// that the editor is ready for notifications.
func (h *host) initialized(ctx context.Context, _ struct{}) error {
	h.startPolicy()
	return nil
}

func (h *host) shutdown(ctx context.Context, _ struct{}) (any, error) {
	h.mu.Lock()
	h.state = stateShutdown
	h.mu.Unlock()
	h.stopPolicy()
	return nil, nil
}

// exit ends the session; Serve closes the connection (a handler must not).
func (h *host) exit(ctx context.Context, _ struct{}) error {
	h.exitOnce.Do(func() { close(h.exited) })
	return nil
}
