// The sandboxed terminal: a Pseudoterminal whose shell runs in the sandbox
// through sandbar/run with a pty. Keys go to the shell as sandbar/input
// (Ctrl-C is "\x03", which the pty turns into SIGINT), size changes as
// sandbar/resize, and the shell's output comes back as sandbar/output.
// Closing the terminal cancels the run, which kills what the shell started.

import * as vscode from 'vscode';

import { errorMessage, SandbarHost } from './host';
import { describeEnd, describeViolation, finalRun } from './format';
import type { RunResult, Violation } from './protocol';

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const red = (s: string) => `\x1b[31m${s}\x1b[0m`;

/** Makes the line ends of text right for a terminal that is not in raw mode. */
function crlf(s: string): string {
  return s.replace(/\r?\n/g, '\r\n');
}

export class SandboxPty implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;

  private runId: string;
  private cts = new vscode.CancellationTokenSource();
  private size = { cols: 80, rows: 24 };
  /** The size the run was started with. */
  private startSize = this.size;
  /** Input typed before the shell started; sent once it has. */
  private pending: string[] = [];
  private started = false;
  private ended = false;

  constructor(
    private readonly host: SandbarHost,
    private readonly argv: string[],
    private readonly cwd: vscode.Uri | undefined,
  ) {
    this.runId = host.runs.newId('terminal');
  }

  open(dims: vscode.TerminalDimensions | undefined): void {
    if (dims) this.size = { cols: dims.columns, rows: dims.rows };
    void this.start();
  }

  private async start(): Promise<void> {
    try {
      await this.host.whenRunning();
    } catch (e) {
      this.fail(errorMessage(e));
      return;
    }
    let result: RunResult;
    this.startSize = { ...this.size };
    try {
      result = await this.host.run(
        { runId: this.runId, argv: this.argv, cwd: this.cwd?.toString(), pty: this.startSize },
        {
          started: () => {
            this.started = true;
            // Resized while the sandbox was being made.
            if (this.size.cols !== this.startSize.cols || this.size.rows !== this.startSize.rows) {
              this.host.resize(this.runId, this.size.cols, this.size.rows);
            }
            for (const data of this.pending) this.host.input(this.runId, data);
            this.pending = [];
          },
          output: (_stream, data) => this.writeEmitter.fire(data),
          violation: (v: Violation) => this.writeEmitter.fire(dim(`\r\n[sandbar] ${describeViolation(v)}\r\n`)),
        },
        this.cts.token,
      );
    } catch (e) {
      this.fail(errorMessage(e));
      return;
    }
    this.ended = true;
    if (result.cancelled) return; // the terminal was closed
    // Refusals were shown as they happened; the end says how many.
    this.writeEmitter.fire(dim(`\r\n[sandbar] ${describeEnd(finalRun(result))}\r\n`) + 'Press any key to close the terminal.\r\n');
  }

  private fail(message: string): void {
    this.ended = true;
    this.writeEmitter.fire(red(crlf(`sandbar: ${message}\n`)) + 'Press any key to close the terminal.\r\n');
  }

  handleInput(data: string): void {
    if (this.ended) {
      this.closeEmitter.fire();
      return;
    }
    if (!this.started) {
      this.pending.push(data);
      return;
    }
    this.host.input(this.runId, data);
  }

  setDimensions(dims: vscode.TerminalDimensions): void {
    this.size = { cols: dims.columns, rows: dims.rows };
    if (this.started && !this.ended) this.host.resize(this.runId, dims.columns, dims.rows);
  }

  close(): void {
    this.cts.cancel();
    this.cts.dispose();
    this.writeEmitter.dispose();
    this.closeEmitter.dispose();
  }
}
