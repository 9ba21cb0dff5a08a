package host

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// initialFolders are the workspace folders initialize names: its
// workspaceFolders, or its rootUri (or the older rootPath) when there are
// none. A folder that is not a local directory is left out and reported.
func initialFolders(p initializeParams) ([]folder, []string) {
	named := p.WorkspaceFolders
	if len(named) == 0 {
		switch {
		case p.RootURI != nil && *p.RootURI != "":
			named = []workspaceFolder{{URI: *p.RootURI}}
		case p.RootPath != nil && *p.RootPath != "":
			named = []workspaceFolder{{URI: *p.RootPath}}
		}
	}
	var folders []folder
	var warnings []string
	for _, w := range named {
		f, err := toFolder(w)
		if err != nil {
			warnings = append(warnings, err.Error())
			continue
		}
		folders = addFolder(folders, f)
	}
	return folders, warnings
}

func toFolder(w workspaceFolder) (folder, error) {
	path, err := localPath(w.URI)
	if err != nil {
		return folder{}, fmt.Errorf("workspace folder %s is left out: %w", w.URI, err)
	}
	name := w.Name
	if name == "" {
		name = filepath.Base(path)
	}
	return folder{uri: fileURI(path), path: path, name: name}, nil
}

func addFolder(fs []folder, f folder) []folder {
	for _, x := range fs {
		if x.path == f.path {
			return fs
		}
	}
	return append(fs, f)
}

// didChangeWorkspaceFolders changes the folders, and with them the
// sandbox: the policy is loaded again and followed for the new set.
func (h *host) didChangeWorkspaceFolders(ctx context.Context, p didChangeWorkspaceFoldersParams) error {
	var problems []string
	h.mu.Lock()
	for _, w := range p.Event.Removed {
		path, err := localPath(w.URI)
		if err != nil {
			problems = append(problems, fmt.Sprintf("removing workspace folder %s: %v", w.URI, err))
			continue
		}
		kept := h.folders[:0]
		for _, f := range h.folders {
			if f.path != path {
				kept = append(kept, f)
			}
		}
		h.folders = kept
	}
	for _, w := range p.Event.Added {
		f, err := toFolder(w)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		h.folders = addFolder(h.folders, f)
	}
	n := len(h.folders)
	h.mu.Unlock()
	for _, msg := range problems {
		h.logf(messageWarning, "%s", msg)
	}
	h.logf(messageInfo, "workspace folders changed: %d now", n)
	h.restartPolicy(causeFolders)
	return nil
}

// localPath is the path a file URI names. A bare absolute path is taken
// as is, for clients that send one (rootPath) and for people typing
// requests by hand.
func localPath(s string) (string, error) {
	if !strings.Contains(s, "://") {
		if !filepath.IsAbs(s) {
			return "", fmt.Errorf("%q is neither a file URI nor an absolute path", s)
		}
		return filepath.Clean(s), nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("reading URI %q: %w", s, err)
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("only local folders (file:// URIs) can be sandboxed, not %s:", u.Scheme)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("%q names another machine (%s)", s, u.Host)
	}
	if !filepath.IsAbs(u.Path) {
		return "", fmt.Errorf("%q has no absolute path", s)
	}
	return filepath.Clean(u.Path), nil
}

// fileURI is the file URI of an absolute path.
func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: path}).String()
}

// folderFor finds the workspace folder that arg (a URI or a path) names;
// "" means the first.
func (h *host) folderFor(arg string) (folder, error) {
	fs := h.snapshot()
	if len(fs) == 0 {
		return folder{}, errNoFolder()
	}
	if arg == "" {
		return fs[0], nil
	}
	path, err := localPath(arg)
	if err != nil {
		return folder{}, errorf(codeInvalidParams, "invalid params: folder: %v", err)
	}
	for _, f := range fs {
		if f.path == path {
			return f, nil
		}
	}
	return folder{}, errorf(codeInvalidParams, "invalid params: folder: %s is not a workspace folder of this session", arg)
}

func errNoFolder() error {
	return errorf(codeRequestFailed, "no workspace folder is open: sandbar confines commands to the folders the editor has open")
}
