// sandbar for VS Code: starts `sandbar serve` for the window and offers
// what it can do: confined runs, a sandboxed terminal, the language-model
// tool sandbar_run, prompts for what the policy leaves open, and the
// policy's diagnostics. See docs/vscode.md.

import { execFile } from 'node:child_process';
import * as vscode from 'vscode';

import { commandArgv, quoteArgv } from './argv';
import { inertLinks, policyMarkdown, runFooter, statusView } from './format';
import { errorMessage, SandbarHost } from './host';
import { terminalShell } from './locate';
import { SandboxPty } from './terminal';
import { RunTool, toolName } from './tool';
import { TraceChannel } from './trace';
import { Documents, scheme } from './views';

let host: SandbarHost | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('sandbar', { log: true });
  const trace = new TraceChannel('sandbar trace');
  const runs = vscode.window.createOutputChannel('sandbar runs');
  const docs = new Documents();
  host = new SandbarHost(output, trace);
  const h = host;
  context.subscriptions.push(output, trace, runs, docs, h);
  context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(scheme, docs));

  // The status bar: backend, folders, violations; click for the policy.
  const status = vscode.window.createStatusBarItem('sandbar.status', vscode.StatusBarAlignment.Left, 10);
  status.name = 'sandbar';
  const render = () => {
    const v = statusView({
      state: h.state,
      backend: h.backend,
      folders: vscode.workspace.workspaceFolders?.length ?? 0,
      violations: h.violations,
      policy: h.policy,
      error: h.error,
    });
    status.text = v.text;
    status.tooltip = v.tooltip;
    status.backgroundColor = v.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    status.command = h.state === 'running' ? 'sandbar.showPolicy' : 'sandbar.restart';
    status.show();
  };
  render();
  context.subscriptions.push(status, h.onDidChange(render), vscode.workspace.onDidChangeWorkspaceFolders(render));

  // Integrated terminals get SANDBAR_HOST, so that `sandbar run` typed in
  // one asks through this window.
  const env = context.environmentVariableCollection;
  env.description = 'Lets `sandbar run` in this terminal ask VS Code about what the policy leaves open.';
  const updateEnv = () => {
    const on = vscode.workspace.getConfiguration('sandbar').get<boolean>('terminal.hostEnvironment', true);
    const socket = h.backend?.hostSocket;
    if (on && h.state === 'running' && socket) env.replace('SANDBAR_HOST', socket);
    else if (h.state !== 'starting') env.delete('SANDBAR_HOST');
  };
  context.subscriptions.push(h.onDidChange(updateEnv));

  const folderFor = (uri?: vscode.Uri): vscode.WorkspaceFolder | undefined => {
    const active = uri ?? vscode.window.activeTextEditor?.document.uri;
    return (active && vscode.workspace.getWorkspaceFolder(active)) || vscode.workspace.workspaceFolders?.[0];
  };
  const pickFolder = async (title: string): Promise<vscode.WorkspaceFolder | undefined> => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length <= 1) return folders[0];
    return vscode.window.showWorkspaceFolderPick({ placeHolder: title });
  };
  const fail = (what: string, e: unknown) => {
    const msg = errorMessage(e);
    output.error(`${what}: ${msg}`);
    void vscode.window.showErrorMessage(inertLinks(`sandbar: ${what}: ${msg}`));
  };
  const newPty = (cwd?: vscode.Uri) => {
    const config = vscode.workspace.getConfiguration('sandbar');
    const argv = terminalShell(config.get<string>('terminal.shell', ''), process.env.SHELL);
    return new SandboxPty(h, argv, cwd ?? folderFor()?.uri);
  };

  let lastCommand = '';
  const command = (id: string, f: (...args: any[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, f));

  command('sandbar.runCommand', async (line?: string) => {
    if (typeof line !== 'string') {
      line = await vscode.window.showInputBox({
        title: 'Run Command in Sandbox',
        prompt: 'A command line to run in the sandbox of this workspace',
        placeHolder: 'make test',
        value: lastCommand,
        ignoreFocusOut: true,
      });
    }
    if (line === undefined) return;
    const argv = commandArgv(line);
    if (argv.length === 0) return;
    lastCommand = line;
    const folder = folderFor();
    if (!folder) {
      void vscode.window.showErrorMessage('sandbar: open a folder first: commands run in the sandbox of the workspace folders.');
      return;
    }
    runs.show(true);
    runs.appendLine(`$ ${line}    (in ${folder.uri.fsPath})`);
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: inertLinks(`sandbar: running ${quoteArgv(argv)}`), cancellable: true },
      async (_progress, token) => {
        try {
          await h.whenRunning();
          let atLineStart = true;
          const result = await h.run(
            { runId: h.runs.newId('run'), argv, cwd: folder.uri.toString() },
            {
              output: (_stream, data) => {
                runs.append(data);
                atLineStart = data.endsWith('\n');
              },
            },
            token,
          );
          if (!atLineStart) runs.appendLine('');
          for (const l of runFooter(result)) runs.appendLine(l);
        } catch (e) {
          runs.appendLine(`[sandbar] ${errorMessage(e)}`);
          fail(`running ${quoteArgv(argv)}`, e);
        }
        runs.appendLine('');
      },
    );
  });

  // From the explorer's context menu, uri is the folder to start in.
  command('sandbar.openTerminal', async (uri?: vscode.Uri) => {
    const cwd = uri instanceof vscode.Uri ? uri : folderFor()?.uri;
    const t = vscode.window.createTerminal({ name: 'sandbar', pty: newPty(cwd), iconPath: new vscode.ThemeIcon('shield') });
    t.show();
  });

  context.subscriptions.push(
    vscode.window.registerTerminalProfileProvider('sandbar.terminal', {
      provideTerminalProfile: () => new vscode.TerminalProfile({ name: 'sandbar', pty: newPty(), iconPath: new vscode.ThemeIcon('shield') }),
    }),
  );

  command('sandbar.showPolicy', async () => {
    const folder = folderFor();
    try {
      await h.whenRunning();
      const p = await h.policyOf(folder?.uri);
      await docs.show('Effective Policy.md', policyMarkdown(p, process.env.HOME), 'markdown');
    } catch (e) {
      fail('showing the effective policy', e);
    }
  });

  command('sandbar.trust', async () => {
    const folder = await pickFolder('Trust the policy of which folder?');
    if (!folder) return;
    try {
      await h.whenRunning();
      const r = await h.trust(folder.uri);
      if (r.trusted && r.answer === '' && r.widens.length === 0) {
        void vscode.window.showInformationMessage(`sandbar: ${r.path} only narrows the sandbox; there is nothing to trust.`);
      } else if (r.trusted && r.answer === '') {
        void vscode.window.showInformationMessage(`sandbar: ${r.path} is already trusted as it is.`);
      } else if (r.trusted) {
        void vscode.window.showInformationMessage(`sandbar: ${r.path} is trusted; its entries apply now.`);
      } else {
        void vscode.window.showInformationMessage(`sandbar: ${r.path} is not trusted; its entries that widen the sandbox stay ignored.`);
      }
    } catch (e) {
      fail('trusting the workspace policy', e);
    }
  });

  const cli = (args: string[]) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve, reject) => {
      const bin = h.sandbarPath;
      if (!bin) {
        reject(new Error(h.error ?? 'sandbar was not found; set sandbar.path'));
        return;
      }
      execFile(bin, args, { env: process.env, maxBuffer: 16 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err && typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown) as { code: number }).code : err ? -1 : 0;
        if (err && code === -1) reject(err);
        else resolve({ stdout, stderr, code });
      });
    });

  command('sandbar.showAuditLog', async () => {
    const n = vscode.workspace.getConfiguration('sandbar').get<number>('audit.entries', 200);
    try {
      const r = await cli(['audit', '-n', String(n)]);
      await docs.show('Audit Log.txt', `$ sandbar audit -n ${n}\n\n${r.stdout}${r.stderr}`);
    } catch (e) {
      fail('reading the audit log', e);
    }
  });

  command('sandbar.doctor', async () => {
    try {
      const r = await cli(['doctor']);
      const verdict = r.code === 0 ? 'sandbar can confine commands here.' : 'sandbar cannot confine commands here: see the findings above.';
      await docs.show('Doctor.txt', `$ sandbar doctor\n\n${r.stdout}${r.stderr}\n${verdict}\n`);
    } catch (e) {
      fail('running sandbar doctor', e);
    }
  });

  command('sandbar.restart', async () => {
    await h.restart();
  });

  command('sandbar.showOutput', () => output.show());

  if (typeof vscode.lm?.registerTool === 'function') {
    context.subscriptions.push(vscode.lm.registerTool(toolName, new RunTool(h)));
  }

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('sandbar.path') || e.affectsConfiguration('sandbar.approvals.timeoutSeconds')) {
        void h.restart();
      }
      if (e.affectsConfiguration('sandbar.terminal.hostEnvironment')) updateEnv();
    }),
  );

  await h.start();
}

export async function deactivate(): Promise<void> {
  await host?.stop();
  host = undefined;
}
