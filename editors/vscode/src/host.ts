// One `sandbar serve` for the window: started with vscode-languageclient,
// restarted if it dies, and the one place that talks to it. Everything else
// in the extension asks this class.

import * as readline from 'node:readline';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  ResponseError,
  RevealOutputChannelOn,
  ServerOptions,
  ShowMessageNotification,
  ShowMessageRequest,
  State,
  TransportKind,
} from 'vscode-languageclient/node';

import { answer, promptItems, splitMessage } from './approvals';
import { inertLinks } from './format';
import { stderrLineShown } from './hostlog';
import { locateSandbar } from './locate';
import {
  BackendInfo,
  InitializationOptions,
  Method,
  OutputParams,
  PolicyApplied,
  PolicyResult,
  RunParams,
  RunResult,
  RunStarted,
  ShowMessageParams,
  ShowMessageRequestParams,
  TrustResult,
  Violation,
} from './protocol';
import { RunRouter, RunSink } from './runs';

export type HostState = 'starting' | 'running' | 'stopped' | 'failed';

export class SandbarHost implements vscode.Disposable {
  readonly runs = new RunRouter();
  private client: LanguageClient | undefined;
  private binary: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  private _state: HostState = 'stopped';
  private _error: string | undefined;
  private _backend: BackendInfo | undefined;
  private _policy: PolicyApplied | undefined;
  private _violations = 0;

  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the state, backend, policy or violation count changes. */
  readonly onDidChange = this.changed.event;

  constructor(
    readonly output: vscode.LogOutputChannel,
    private readonly traceOutput: vscode.LogOutputChannel,
  ) {
    this.disposables.push(this.changed);
  }

  get state(): HostState {
    return this._state;
  }
  get error(): string | undefined {
    return this._error;
  }
  get backend(): BackendInfo | undefined {
    return this._backend;
  }
  get policy(): PolicyApplied | undefined {
    return this._policy;
  }
  get violations(): number {
    return this._violations;
  }
  /** The sandbar binary the host runs, for the CLI commands too. */
  get sandbarPath(): string | undefined {
    return this.binary ?? this.locate();
  }

  private locate(): string | undefined {
    const r = locateSandbar({
      setting: vscode.workspace.getConfiguration('sandbar').get<string>('path', ''),
      pathEnv: process.env.PATH,
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    });
    if (!r.ok) {
      this._error = r.message;
      return undefined;
    }
    return r.path;
  }

  private setState(s: HostState, error?: string): void {
    this._state = s;
    this._error = error;
    this.changed.fire();
  }

  async start(): Promise<void> {
    if (this.client) return;
    const binary = this.locate();
    if (!binary) {
      this.setState('failed', this._error);
      this.output.error(this._error ?? 'sandbar was not found');
      void vscode.window.showErrorMessage(`sandbar: ${this._error}`, 'Open Settings').then((c) => {
        if (c) void vscode.commands.executeCommand('workbench.action.openSettings', 'sandbar.path');
      });
      return;
    }
    this.binary = binary;
    const config = vscode.workspace.getConfiguration('sandbar');
    const timeoutSeconds = config.get<number>('approvals.timeoutSeconds', 60);
    const initializationOptions: InitializationOptions = {};
    if (timeoutSeconds > 0) initializationOptions.approvalTimeoutMs = Math.round(timeoutSeconds * 1000);

    // vscode-languageclient adds --stdio (and --clientProcessId), which
    // `sandbar serve` accepts.
    const serverOptions: ServerOptions = {
      command: binary,
      args: ['serve'],
      transport: TransportKind.stdio,
      options: { env: process.env },
    };
    let running = false;
    const clientOptions: LanguageClientOptions = {
      // The policy files: their diagnostics are the host's, and the
      // client only keeps diagnostics of documents it is told about.
      documentSelector: [
        { scheme: 'file', pattern: '**/.sandbar/policy.jsonc' },
        { scheme: 'file', pattern: '**/sandbar/policy.jsonc' },
      ],
      outputChannel: this.output,
      traceOutputChannel: this.traceOutput,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions,
      stdioOptions: {
        stdout: () => {
          // stdout is the protocol's: the client reads it itself.
        },
        stderr: (input, channel) => {
          readline.createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 }).on('line', (line) => {
            if (stderrLineShown(line, running)) channel.error(line);
          });
        },
      },
      errorHandler: {
        error: (_e, _m, count) => ({ action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
        closed: () => this.closed(),
      },
    };
    const client = new LanguageClient('sandbar', 'sandbar', serverOptions, clientOptions);
    this.client = client;
    this.disposables.push(
      client.onDidChangeState((e) => {
        running = e.newState === State.Running;
        if (e.newState === State.Running) {
          const caps = client.initializeResult?.capabilities as { experimental?: { sandbar?: BackendInfo } } | undefined;
          this._backend = caps?.experimental?.sandbar;
          this.setState('running');
        } else if (e.newState === State.Starting) {
          this.setState('starting');
        } else if (e.newState === State.Stopped && this._state !== 'failed') {
          this._backend = undefined;
          this.setState('stopped');
        }
      }),
    );
    client.onNotification(Method.runStarted, (p: RunStarted) => this.runs.started(p));
    client.onNotification(Method.output, (p: OutputParams) => this.runs.output(p));
    client.onNotification(Method.violation, (v: Violation) => {
      this._violations += Math.max(1, v.count || 0);
      this.runs.violation(v);
      this.changed.fire();
    });
    client.onNotification(Method.policyApplied, (p: PolicyApplied) => {
      this._policy = p;
      this.changed.fire();
    });
    // Registered before start, so it replaces the client's own handler
    // once the session is initialized, before the host can ask anything.
    client.onRequest(ShowMessageRequest.method, (p: ShowMessageRequestParams) => this.prompt(p));
    // The host's own messages (a policy file that does not load, and
    // why) quote the file's entries: the same care as for prompts.
    client.onNotification(ShowMessageNotification.method, (p: ShowMessageParams) => {
      if (p.type > 3) return; // Log: for the output channel, which the log handler fills
      void showFor(p.type)(inertLinks(p.message));
    });

    this.setState('starting');
    try {
      await client.start();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.client = undefined;
      this.setState('failed', msg);
      this.output.error(`starting ${binary} serve: ${msg}`);
    }
  }

  // restarts counts the host's recent deaths: it is restarted unless it
  // died 5 times in 3 minutes.
  private restarts: number[] = [];

  private closed() {
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < 3 * 60_000);
    this.restarts.push(now);
    if (this.restarts.length > 5) {
      this.setState('failed', 'it stopped 5 times in 3 minutes');
      return { action: CloseAction.DoNotRestart, message: 'sandbar: the host stopped 5 times in 3 minutes and is not restarted. See the "sandbar" output; run "Sandbar: Restart Host" to try again.' };
    }
    this.output.warn('the host stopped; starting it again');
    return { action: CloseAction.Restart };
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.binary = undefined;
    if (c) {
      try {
        await c.stop(5000);
      } catch (e) {
        this.output.warn(`stopping the host: ${e instanceof Error ? e.message : String(e)}`);
      }
      await c.dispose().catch(() => undefined);
    }
    this._backend = undefined;
    this.setState('stopped');
  }

  async restart(): Promise<void> {
    this.restarts = [];
    await this.stop();
    await this.start();
  }

  /** The running client, or an error saying why there is none. */
  private ready(): LanguageClient {
    const c = this.client;
    if (!c || this._state !== 'running') {
      throw new Error(this._state === 'failed' ? `the sandbar host could not start: ${this._error ?? 'see the "sandbar" output'}` : `the sandbar host is ${this._state}`);
    }
    return c;
  }

  /** Waits until the host runs, or fails. */
  async whenRunning(timeoutMs = 30_000): Promise<void> {
    if (this._state === 'running') return;
    if (this._state === 'failed' || this._state === 'stopped') this.ready();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error('the sandbar host did not start in time'));
      }, timeoutMs);
      const sub = this.onDidChange(() => {
        if (this._state === 'starting') return;
        clearTimeout(timer);
        sub.dispose();
        if (this._state === 'running') resolve();
        else reject(new Error(`the sandbar host ${this._state === 'failed' ? 'could not start: ' + (this._error ?? '') : 'stopped'}`));
      });
    });
  }

  /**
   * Runs a command with sandbar/run, its notifications going to sink.
   * Cancelling token sends $/cancelRequest, which kills the command.
   */
  async run(params: RunParams & { runId: string }, sink: RunSink, token?: vscode.CancellationToken): Promise<RunResult> {
    const c = this.ready();
    const unregister = this.runs.register(params.runId, sink);
    try {
      return await c.sendRequest<RunResult>(Method.run, params, token);
    } finally {
      unregister();
    }
  }

  input(runId: string, data: string, eof?: boolean): void {
    const c = this.client;
    if (c && this._state === 'running') void c.sendNotification(Method.input, eof ? { runId, data, eof } : { runId, data });
  }

  resize(runId: string, cols: number, rows: number): void {
    const c = this.client;
    if (c && this._state === 'running') void c.sendNotification(Method.resize, { runId, cols, rows });
  }

  async policyOf(folder?: vscode.Uri): Promise<PolicyResult> {
    return this.ready().sendRequest<PolicyResult>(Method.policy, folder ? { folder: folder.toString() } : {});
  }

  async trust(folder: vscode.Uri): Promise<TrustResult> {
    return this.ready().sendRequest<TrustResult>(Method.trust, { folder: folder.toString() });
  }

  /** Shows a question of the host's, as a notification or a modal dialog. */
  private async prompt(p: ShowMessageRequestParams) {
    const modal = vscode.workspace.getConfiguration('sandbar').get<boolean>('approvals.modal', false);
    const items = promptItems(p.actions, modal);
    let chosen: { title: string } | undefined;
    // The message quotes what the sandboxed command or a repository
    // chose (a path, a domain, a policy entry): shown as text, never as
    // a link VS Code would open or run.
    const message = inertLinks(p.message);
    const show = showFor(p.type);
    if (modal) {
      const { title, detail } = splitMessage(message);
      chosen = await show(title, { modal: true, detail }, ...items);
    } else {
      chosen = await show(message, ...items);
    }
    const a = answer(p.actions, chosen);
    this.output.info(`asked: ${p.message} → ${a ? a.title : 'no answer'}`);
    return a;
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables) d.dispose();
  }
}

/** The message of a failed request, without the JSON-RPC wrapping. */
export function errorMessage(e: unknown): string {
  if (e instanceof ResponseError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The VS Code call that shows a message of LSP type t (1 error, 2 warning, else information). */
function showFor(t: number): typeof vscode.window.showInformationMessage {
  return t === 1 ? vscode.window.showErrorMessage : t === 2 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
}
