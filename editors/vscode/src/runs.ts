// Routing of a run's notifications (sandbar/runStarted, sandbar/output,
// sandbar/violation) to whoever started it: the output channel of "Run
// Command in Sandbox", a sandboxed terminal, or the language-model tool.
// The extension names each run itself (runId), so output that arrives
// before sandbar/run is answered finds its sink.

import type { OutputParams, RunStarted, Violation } from './protocol';

export interface RunSink {
  started?(p: RunStarted): void;
  output(stream: string, data: string): void;
  violation?(v: Violation): void;
}

export class RunRouter {
  private readonly sinks = new Map<string, RunSink>();
  private next = 0;
  private readonly prefix: string;

  constructor(prefix = `vscode-${process.pid}-${Date.now().toString(36)}`) {
    this.prefix = prefix;
  }

  /** A run ID no other run of this window uses. */
  newId(kind: string): string {
    this.next++;
    return `${kind}-${this.prefix}-${this.next}`;
  }

  /** Sends id's notifications to sink until the returned function is called. */
  register(id: string, sink: RunSink): () => void {
    this.sinks.set(id, sink);
    return () => {
      if (this.sinks.get(id) === sink) this.sinks.delete(id);
    };
  }

  get size(): number {
    return this.sinks.size;
  }

  started(p: RunStarted): void {
    this.sinks.get(p.runId)?.started?.(p);
  }

  output(p: OutputParams): void {
    this.sinks.get(p.runId)?.output(p.stream, p.data);
  }

  violation(v: Violation): void {
    if (v.runId) this.sinks.get(v.runId)?.violation?.(v);
  }
}

/**
 * Collects a run's output for the language-model tool, keeping at most
 * max characters: the start, and the most recent rest.
 */
export class OutputBuffer implements RunSink {
  private head = '';
  private tail = '';
  private dropped = 0;

  constructor(private readonly max = 200_000) {}

  output(_stream: string, data: string): void {
    const half = Math.floor(this.max / 2);
    if (this.head.length < half) {
      const take = data.slice(0, half - this.head.length);
      this.head += take;
      data = data.slice(take.length);
    }
    this.tail += data;
    if (this.tail.length > half) {
      this.dropped += this.tail.length - half;
      this.tail = this.tail.slice(this.tail.length - half);
    }
  }

  text(): string {
    if (this.dropped === 0) return this.head + this.tail;
    return `${this.head}\n… [${this.dropped} characters cut] …\n${this.tail}`;
  }
}
