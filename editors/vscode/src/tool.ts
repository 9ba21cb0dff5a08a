// The language-model tool sandbar_run: what Copilot's agent mode (or any
// extension that uses vscode.lm tools) calls to run a command confined,
// instead of an unconfined terminal. It returns the output, the exit code
// and every access the sandbox refused.

import * as vscode from 'vscode';

import { commandArgv, quoteArgv } from './argv';
import { toolReport } from './format';
import { SandbarHost } from './host';
import { toolCwd } from './locate';
import { OutputBuffer } from './runs';

export interface RunToolInput {
  /** The command line; run as typed, with sh -c when it needs a shell. */
  command: string;
  /** The directory to run in: absolute, or relative to the first folder. */
  cwd?: string;
  timeoutSeconds?: number;
}

export const toolName = 'sandbar_run';

export class RunTool implements vscode.LanguageModelTool<RunToolInput> {
  constructor(private readonly host: SandbarHost) {}

  prepareInvocation(options: vscode.LanguageModelToolInvocationPrepareOptions<RunToolInput>): vscode.PreparedToolInvocation {
    const argv = commandArgv(options.input.command ?? '');
    return { invocationMessage: `Running \`${quoteArgv(argv)}\` in the sandbox` };
  }

  async invoke(options: vscode.LanguageModelToolInvocationOptions<RunToolInput>, token: vscode.CancellationToken): Promise<vscode.LanguageModelToolResult> {
    const input = options.input;
    const argv = commandArgv(input?.command ?? '');
    if (argv.length === 0) throw new Error('sandbar_run: "command" is empty; give the command line to run');
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const cwd = toolCwd(input.cwd, folders);
    if (!cwd) throw new Error('sandbar_run: no folder is open in the editor, so there is no workspace to run in');
    const timeout = input.timeoutSeconds ?? vscode.workspace.getConfiguration('sandbar').get<number>('tool.timeoutSeconds', 600);
    await this.host.whenRunning();
    const out = new OutputBuffer();
    const runId = this.host.runs.newId('tool');
    const result = await this.host.run(
      { runId, argv, cwd, timeoutMs: timeout > 0 ? Math.round(timeout * 1000) : undefined },
      out,
      token,
    );
    return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(toolReport(argv, cwd, out.text(), result))]);
  }
}
