// Text the extension shows: summaries of runs, violations, the effective
// policy, and what the language-model tool returns. Pure functions, so
// node --test covers them without VS Code.

import type { PolicyApplied, PolicyResult, RunResult, Violation } from './protocol';
import { quoteArgv } from './argv';

/** One refusal on one line: "refused write /home/me/x (rule ...)". */
export function describeViolation(v: Violation): string {
  const what = v.path || v.target || '';
  const op = v.operation ? `${v.operation}` : v.kind;
  let s = `${v.decision} ${op}${what ? ' ' + what : ''}`;
  if (v.kind && v.operation && !op.startsWith(v.kind)) s += ` [${v.kind}]`;
  if (v.count > 1) s += ` (${v.count} times)`;
  if (v.reason) s += `: ${v.reason}`;
  if (v.rule) s += ` (rule: ${v.rule})`;
  if (v.comm) s += ` by ${v.comm}${v.pid ? ` (pid ${v.pid})` : ''}`;
  if (v.undone) s += `; ${v.undone}`;
  return s;
}

/** How a run ended, in one line: "exit 0 in 120 ms, confined, 1 violation". */
export function describeEnd(r: RunResult): string {
  const parts: string[] = [];
  if (r.cancelled) parts.push('cancelled');
  else if (r.timedOut) parts.push('timed out');
  if (r.signal) parts.push(`killed by ${r.signal}`);
  else parts.push(`exit ${r.exitCode}`);
  parts[parts.length - 1] += ` in ${formatDuration(r.durationMs)}`;
  parts.push(r.confined ? 'confined' : 'UNCONFINED');
  const n = countViolations(r.violations);
  if (n > 0) parts.push(`${n} violation${n === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** The last run of r: the re-run when the user allowed one. */
export function finalRun(r: RunResult): RunResult {
  let last = r;
  while (last.rerun) last = last.rerun;
  return last;
}

export function countViolations(vs: Violation[] | undefined): number {
  return (vs ?? []).reduce((n, v) => n + Math.max(1, v.count || 0), 0);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

/** The lines after a run's output: how it ended and what was refused. */
export function runFooter(r: RunResult): string[] {
  const lines = [`[sandbar] ${describeEnd(r)}`];
  for (const v of r.violations ?? []) lines.push(`[sandbar]   ${describeViolation(v)}`);
  if (r.rerun) {
    for (const a of r.allowed ?? []) lines.push(`[sandbar] allowed ${a}`);
    lines.push('[sandbar] ran again:');
    lines.push(...runFooter(r.rerun));
  }
  return lines;
}

/**
 * Keeps the head and tail of long output for a language model: the end
 * (errors, summaries) matters most, the start says what ran.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max / 4);
  const tail = max - head;
  const cut = text.length - head - tail;
  return `${text.slice(0, head)}\n… [${cut} characters cut] …\n${text.slice(text.length - tail)}`;
}

/** What the language-model tool returns about a run. */
export function toolReport(argv: string[], cwd: string, output: string, r: RunResult, maxOutput = 24_000): string {
  const last = finalRun(r);
  const lines: string[] = [];
  lines.push(`Command: ${quoteArgv(argv)}`);
  lines.push(`Directory: ${cwd}`);
  lines.push(`Exit code: ${last.exitCode}${last.signal ? ` (killed by ${last.signal})` : ''}${last.timedOut ? ' (timed out)' : ''}${last.cancelled ? ' (cancelled)' : ''}`);
  lines.push(last.confined ? 'Ran inside the sandbar sandbox.' : 'Ran WITHOUT the sandbox, as the user approved.');
  if (r.rerun) lines.push(`The user allowed ${(r.allowed ?? []).join('; ')} and the command ran a second time; the output below is both runs.`);
  const vs = [...(r.violations ?? []), ...(r.rerun ? finalRun(r).violations ?? [] : [])];
  if (vs.length > 0) {
    lines.push('Refused by the sandbox (violations):');
    for (const v of vs) lines.push(`- ${describeViolation(v)}`);
    lines.push('A refused access is the policy working: do not try to work around it; tell the user what was refused if it matters.');
  } else {
    lines.push('Violations: none.');
  }
  lines.push('Output:');
  lines.push(output === '' ? '(no output)' : clip(output, maxOutput));
  return lines.join('\n');
}

/** The status bar's text and tooltip. */
export interface StatusInput {
  state: 'starting' | 'running' | 'stopped' | 'failed';
  backend?: { backend: string; version: string; enforces: string[] };
  folders: number;
  violations: number;
  policy?: PolicyApplied;
  error?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  warning: boolean;
}

export function statusView(s: StatusInput): StatusView {
  switch (s.state) {
    case 'starting':
      return { text: '$(sync~spin) sandbar', tooltip: 'sandbar: starting the host…', warning: false };
    case 'stopped':
      return { text: '$(circle-slash) sandbar', tooltip: 'sandbar: the host is stopped. Click to restart it.', warning: true };
    case 'failed':
      return { text: '$(error) sandbar', tooltip: `sandbar: the host could not start${s.error ? ': ' + s.error : ''}. Click to try again.`, warning: true };
  }
  const b = s.backend;
  const backend = b && b.backend !== 'none' ? b.backend : 'no sandbox';
  const tip: string[] = [];
  if (!b || b.backend === 'none') {
    tip.push('sandbar has no sandbox on this machine: every run fails. Run "Sandbar: Run Doctor".');
  } else {
    tip.push(`Commands are confined by ${b.backend}${b.version ? ' ' + b.version : ''} (${b.enforces.join(', ') || 'nothing'}).`);
  }
  tip.push(`${s.folders} workspace folder${s.folders === 1 ? '' : 's'}, all writable.`);
  tip.push(`${s.violations} violation${s.violations === 1 ? '' : 's'} this session.`);
  let text = `$(shield) sandbar: ${backend}`;
  let warning = !b || b.backend === 'none';
  if (s.policy && !s.policy.ok) {
    const n = s.policy.errors.length;
    text = `$(warning) sandbar: ${backend}`;
    tip.push(`The policy has ${n} error${n === 1 ? '' : 's'}; see the Problems panel.`);
    warning = true;
  } else if (s.policy) {
    tip.push(`Policy generation ${s.policy.generation} is in force.`);
  }
  if (s.violations > 0) text += ` · ${s.violations} refused`;
  tip.push('Click for the effective policy.');
  return { text, tooltip: tip.join('\n'), warning };
}

/** Where a rule came from: "path:line:col", or the built-in default's. */
function where(src: { file: string; line?: number; column?: number }): string {
  return src.line ? `${src.file}:${src.line}:${src.column ?? 1}` : src.file;
}

/** The effective policy as a Markdown document. */
export function policyMarkdown(p: PolicyResult, home?: string): string {
  const tilde = (s: string) => (home && (s === home || s.startsWith(home + '/')) ? '~' + s.slice(home.length) : s);
  const link = (src: { file: string; uri?: string; line?: number; column?: number }) => {
    const text = tilde(where(src));
    if (!src.uri) return text;
    return `[${text}](${src.uri}${src.line ? `#L${src.line}` : ''})`;
  };
  const out: string[] = [];
  out.push('# The sandbox in force');
  out.push('');
  out.push(`- Folder: ${p.folder}`);
  out.push(`- Backend: ${p.backend}`);
  out.push(`- Policy generation: ${p.generation}`);
  out.push(`- Writable folders: ${p.folders.join(', ')}`);
  out.push('');
  out.push('## Policy files');
  out.push('');
  out.push('- the built-in default');
  for (const f of p.files) {
    const state = f.folder === undefined ? 'your own policy' : f.trusted ? 'trusted' : 'NOT trusted: entries that widen the sandbox are ignored';
    out.push(`- [${tilde(f.path)}](${f.uri}) (${state})`);
  }
  const byKey = new Map<string, typeof p.rules>();
  for (const r of p.rules) {
    const list = byKey.get(r.key) ?? [];
    list.push(r);
    byKey.set(r.key, list);
  }
  out.push('');
  out.push('## Rules');
  for (const [key, rules] of byKey) {
    out.push('');
    out.push(`### ${key}`);
    out.push('');
    for (const r of rules) out.push(`- ${codeSpan(tilde(r.value))} (${link(r)})`);
  }
  if (p.ignored.length > 0) {
    out.push('');
    out.push('## Ignored until you trust the file');
    out.push('');
    for (const i of p.ignored) out.push(`- ${i.key} ${codeSpan(i.value)}: ${inertLinks(i.reason)} (${link(i)})`);
    out.push('');
    out.push('Run "Sandbar: Trust Workspace Policy" to apply them.');
  }
  if (p.warnings.length > 0) {
    out.push('');
    out.push('## Warnings');
    out.push('');
    for (const w of p.warnings) out.push(`- ${inertLinks(w)}`);
  }
  out.push('');
  return out.join('\n');
}

/**
 * Text for a VS Code notification or dialog that shows what the host says
 * as it is. VS Code turns `[label](command:...)` (and http, https and file
 * links) in a notification's message into a link that runs the command or
 * opens the target when clicked, and the host's messages quote paths,
 * domains and policy entries that a sandboxed command or a repository
 * chose. A zero-width space between `]` and `(` keeps the text as written
 * on screen and makes it no link.
 */
export function inertLinks(text: string): string {
  return text.replace(/\]\(/g, ']\u200b(');
}

/**
 * A Markdown code span of text however many backticks it holds: a value
 * from a policy file must not close the span and be read as Markdown
 * (a link, say).
 */
export function codeSpan(text: string): string {
  const runs = text.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || (text.startsWith(' ') && text.endsWith(' ') && text.trim() !== '') ? ' ' : '';
  return fence + pad + text + pad + fence;
}
