// The "sandbar trace" output: where vscode-languageclient traces the
// protocol. The client traces only into a log channel whose level is
// Trace, and reads `<id>.trace.server` for how much; this channel makes
// the setting the one switch: "off" is level Info (no trace), "messages"
// and "verbose" are level Trace.

import * as vscode from 'vscode';

export class TraceChannel implements vscode.LogOutputChannel {
  private readonly out: vscode.OutputChannel;
  private readonly levelChanged = new vscode.EventEmitter<vscode.LogLevel>();
  readonly onDidChangeLogLevel = this.levelChanged.event;
  private level: vscode.LogLevel;
  private readonly watch: vscode.Disposable;

  constructor(readonly name: string) {
    this.out = vscode.window.createOutputChannel(name);
    this.level = TraceChannel.levelOf();
    this.watch = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('sandbar.trace.server')) return;
      const level = TraceChannel.levelOf();
      if (level !== this.level) {
        this.level = level;
        this.levelChanged.fire(level);
      }
    });
  }

  private static levelOf(): vscode.LogLevel {
    const v = vscode.workspace.getConfiguration('sandbar').get<string>('trace.server', 'off');
    return v === 'off' ? vscode.LogLevel.Info : vscode.LogLevel.Trace;
  }

  get logLevel(): vscode.LogLevel {
    return this.level;
  }

  private line(kind: string, message: string): void {
    this.out.appendLine(`${new Date().toISOString()} [${kind}] ${message}`);
  }

  trace(message: string): void {
    if (this.level === vscode.LogLevel.Trace) this.line('trace', message);
  }
  debug(message: string): void {
    if (this.level <= vscode.LogLevel.Debug) this.line('debug', message);
  }
  info(message: string): void {
    this.line('info', message);
  }
  warn(message: string): void {
    this.line('warning', message);
  }
  error(error: string | Error): void {
    this.line('error', error instanceof Error ? error.message : error);
  }
  append(value: string): void {
    this.out.append(value);
  }
  appendLine(value: string): void {
    this.out.appendLine(value);
  }
  replace(value: string): void {
    this.out.replace(value);
  }
  clear(): void {
    this.out.clear();
  }
  show(columnOrPreserve?: vscode.ViewColumn | boolean, preserveFocus?: boolean): void {
    if (typeof columnOrPreserve === 'boolean') this.out.show(columnOrPreserve);
    else this.out.show(columnOrPreserve, preserveFocus);
  }
  hide(): void {
    this.out.hide();
  }
  dispose(): void {
    this.watch.dispose();
    this.levelChanged.dispose();
    this.out.dispose();
  }
}
