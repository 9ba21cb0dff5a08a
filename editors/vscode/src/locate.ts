// Where things are: the sandbar binary (the sandbar.path setting, which
// may use ~ and ${workspaceFolder}, else the first "sandbar" on PATH), the
// sandboxed terminal's shell, and the directory a tool call runs in.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface LocateInput {
  setting: string;
  pathEnv: string | undefined;
  workspaceFolder?: string;
  home?: string;
  /** Whether p is an executable file; fs by default. */
  isExecutable?: (p: string) => boolean;
}

export type Located = { ok: true; path: string } | { ok: false; message: string };

export function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function locateSandbar(input: LocateInput): Located {
  const check = input.isExecutable ?? isExecutable;
  const home = input.home ?? os.homedir();
  let setting = input.setting.trim();
  if (setting !== '') {
    if (setting === '~' || setting.startsWith('~/')) setting = path.join(home, setting.slice(1));
    if (setting.includes('${workspaceFolder}')) {
      if (!input.workspaceFolder) return { ok: false, message: `sandbar.path is "${input.setting}", but no folder is open for \${workspaceFolder}` };
      setting = setting.split('${workspaceFolder}').join(input.workspaceFolder);
    }
    if (!path.isAbsolute(setting)) {
      if (!setting.includes('/')) return searchPath(setting, input.pathEnv, check, `sandbar.path is "${input.setting}"`);
      if (!input.workspaceFolder) return { ok: false, message: `sandbar.path "${input.setting}" is relative, and no folder is open` };
      setting = path.resolve(input.workspaceFolder, setting);
    }
    if (!check(setting)) return { ok: false, message: `sandbar.path is "${input.setting}", and ${setting} is not an executable file` };
    return { ok: true, path: setting };
  }
  return searchPath('sandbar', input.pathEnv, check, 'sandbar.path is not set');
}

function searchPath(name: string, pathEnv: string | undefined, check: (p: string) => boolean, why: string): Located {
  for (const dir of (pathEnv ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (check(p)) return { ok: true, path: p };
  }
  return { ok: false, message: `${why}, and no "${name}" was found on PATH. Install sandbar (go install github.com/sandbar-dev/sandbar/cmd/sandbar@latest) or set sandbar.path.` };
}

/** The shell to run: the sandbar.terminal.shell setting, $SHELL, bash or sh. */
export function terminalShell(setting: string, envShell: string | undefined, exists: (p: string) => boolean = fs.existsSync): string[] {
  if (setting.trim() !== '') return [setting.trim()];
  if (envShell && exists(envShell)) return [envShell];
  if (exists('/bin/bash')) return ['/bin/bash'];
  return ['/bin/sh'];
}

/** The directory a tool call runs in: cwd, absolute or relative to the first folder; undefined without a folder. */
export function toolCwd(cwd: string | undefined, folders: string[]): string | undefined {
  if (folders.length === 0) return undefined;
  if (!cwd || cwd.trim() === '' || cwd === '.') return folders[0];
  return path.isAbsolute(cwd) ? path.normalize(cwd) : path.resolve(folders[0], cwd);
}
