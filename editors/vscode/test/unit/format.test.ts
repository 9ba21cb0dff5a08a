import assert from 'node:assert/strict';
import { test } from 'node:test';

import { clip, codeSpan, countViolations, describeEnd, describeViolation, formatDuration, inertLinks, policyMarkdown, runFooter, statusView, toolReport } from '../../src/format';
import type { PolicyResult, RunResult, Violation } from '../../src/protocol';

const run = (r: Partial<RunResult>): RunResult => ({
  runId: 'r1',
  exitCode: 0,
  signal: null,
  durationMs: 42,
  violations: [],
  cancelled: false,
  timedOut: false,
  confined: true,
  ...r,
});

const write: Violation = { kind: 'file-write', operation: 'create', path: '/home/me/outside', decision: 'denied', count: 1, comm: 'touch', pid: 7 };
const net: Violation = { kind: 'network', target: 'example.com:443', decision: 'denied', reason: 'not in network.allowedDomains', count: 2 };

test('violations read as one line each', () => {
  assert.equal(describeViolation(write), 'denied create /home/me/outside [file-write] by touch (pid 7)');
  assert.equal(describeViolation(net), 'denied network example.com:443 (2 times): not in network.allowedDomains');
  assert.equal(countViolations([write, net]), 3);
  assert.equal(countViolations(undefined), 0);
});

test('how a run ended', () => {
  const cases: [Partial<RunResult>, string][] = [
    [{}, 'exit 0 in 42 ms, confined'],
    [{ exitCode: 2, durationMs: 1500, violations: [write] }, 'exit 2 in 1.5 s, confined, 1 violation'],
    [{ signal: 'SIGKILL', exitCode: 137, cancelled: true }, 'cancelled, killed by SIGKILL in 42 ms, confined'],
    [{ timedOut: true, exitCode: 124, durationMs: 125_000, confined: false }, 'timed out, exit 124 in 2 min 5 s, UNCONFINED'],
  ];
  for (const [r, want] of cases) assert.equal(describeEnd(run(r)), want);
  assert.equal(formatDuration(999), '999 ms');
});

test('the footer of a re-run says what was allowed', () => {
  const r = run({ exitCode: 1, violations: [write], allowed: ['filesystem.allowWrite "/home/me/outside" in /p/.sandbar/policy.jsonc'], rerun: run({ runId: 'r1' }) });
  assert.deepEqual(runFooter(r), [
    '[sandbar] exit 1 in 42 ms, confined, 1 violation',
    '[sandbar]   denied create /home/me/outside [file-write] by touch (pid 7)',
    '[sandbar] allowed filesystem.allowWrite "/home/me/outside" in /p/.sandbar/policy.jsonc',
    '[sandbar] ran again:',
    '[sandbar] exit 0 in 42 ms, confined',
  ]);
});

test('long output is clipped in the middle', () => {
  const long = 'a'.repeat(50) + 'b'.repeat(50);
  const c = clip(long, 40);
  assert.ok(c.startsWith('a'.repeat(10)));
  assert.ok(c.endsWith('b'.repeat(30)));
  assert.match(c, /\[60 characters cut\]/);
  assert.equal(clip('short', 40), 'short');
});

test('the tool report gives the model the exit code, violations and output', () => {
  const text = toolReport(['sh', '-c', 'curl x'], '/p', 'curl: (56) 403\n', run({ exitCode: 56, violations: [net] }));
  assert.match(text, /^Command: sh -c 'curl x'$/m);
  assert.match(text, /^Exit code: 56$/m);
  assert.match(text, /^- denied network example\.com:443/m);
  assert.match(text, /do not try to work around it/);
  assert.match(text, /Output:\ncurl: \(56\) 403\n$/);
  assert.match(toolReport(['true'], '/p', '', run({})), /Violations: none\.\nOutput:\n\(no output\)$/);
});

test('the status bar', () => {
  const backend = { backend: 'bubblewrap', version: '0.8.0', enforces: ['filesystem', 'network'] };
  assert.equal(statusView({ state: 'starting', folders: 1, violations: 0 }).text, '$(sync~spin) sandbar');
  const ok = statusView({ state: 'running', backend, folders: 2, violations: 0, policy: { generation: 3, folder: null, ok: true, errors: [], cause: 'policyFile' } });
  assert.equal(ok.text, '$(shield) sandbar: bubblewrap');
  assert.equal(ok.warning, false);
  assert.match(ok.tooltip, /confined by bubblewrap 0\.8\.0 \(filesystem, network\)/);
  assert.match(ok.tooltip, /2 workspace folders/);
  assert.match(ok.tooltip, /generation 3/);
  const bad = statusView({ state: 'running', backend, folders: 1, violations: 3, policy: { generation: 4, folder: null, ok: false, errors: [{ message: 'x', file: 'f' }], cause: 'policyFile' } });
  assert.equal(bad.text, '$(warning) sandbar: bubblewrap · 3 refused');
  assert.equal(bad.warning, true);
  assert.match(bad.tooltip, /1 error; see the Problems panel/);
  const none = statusView({ state: 'running', backend: { backend: 'none', version: '', enforces: [] }, folders: 1, violations: 0 });
  assert.equal(none.text, '$(shield) sandbar: no sandbox');
  assert.equal(none.warning, true);
  assert.match(statusView({ state: 'failed', folders: 0, violations: 0, error: 'no binary' }).tooltip, /could not start: no binary/);
});

test('the effective policy as Markdown', () => {
  const p: PolicyResult = {
    generation: 2,
    folder: 'file:///p',
    folders: ['file:///p'],
    backend: 'bubblewrap',
    files: [
      { path: '/home/me/.config/sandbar/policy.jsonc', uri: 'file:///home/me/.config/sandbar/policy.jsonc', trusted: true },
      { path: '/p/.sandbar/policy.jsonc', uri: 'file:///p/.sandbar/policy.jsonc', folder: 'file:///p', trusted: false },
    ],
    rules: [
      { key: 'filesystem.denyRead', value: '/home/me/.ssh', file: '(built-in default)', line: 11, column: 7 },
      { key: 'network.deniedDomains', value: 'tracker.example', file: '/p/.sandbar/policy.jsonc', uri: 'file:///p/.sandbar/policy.jsonc', line: 3, column: 23 },
    ],
    ignored: [{ key: 'network.allowedDomains', value: 'api.example.com', reason: 'network access', file: '/p/.sandbar/policy.jsonc', uri: 'file:///p/.sandbar/policy.jsonc', line: 2, column: 34 }],
    warnings: ['a warning'],
  };
  const md = policyMarkdown(p, '/home/me');
  assert.match(md, /^### filesystem\.denyRead\n\n- `~\/\.ssh` \(\(built-in default\):11:7\)$/m);
  assert.match(md, /- `tracker\.example` \(\[\/p\/\.sandbar\/policy\.jsonc:3:23\]\(file:\/\/\/p\/\.sandbar\/policy\.jsonc#L3\)\)/);
  assert.match(md, /\[~\/\.config\/sandbar\/policy\.jsonc\]\(file:\/\/\/home\/me\/\.config\/sandbar\/policy\.jsonc\) \(your own policy\)/);
  assert.match(md, /NOT trusted/);
  assert.match(md, /## Ignored until you trust the file\n\n- network\.allowedDomains `api\.example\.com`: network access/);
  assert.match(md, /## Warnings\n\n- a warning/);
});

// VS Code's notifications turn [label](command:...) into a link that runs
// the command: what a sandboxed command chose must stay text.
test('link syntax in a message is shown, never linked', () => {
  const path = '/home/me/[Allow](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22x%22%7D)';
  const shown = inertLinks(`sh was refused create of ${path}. Allow it?`);
  assert.doesNotMatch(shown, /\]\((https?:|command:|file:)/);
  assert.equal(shown.replace(/\u200b/g, ''), `sh was refused create of ${path}. Allow it?`);
  assert.equal(inertLinks('no links here'), 'no links here');
});

test('a policy value cannot close its code span', () => {
  assert.equal(codeSpan('example.com'), '`example.com`');
  assert.equal(codeSpan('a`b'), '``a`b``');
  assert.equal(codeSpan('` [x](command:evil) `'), '`` ` [x](command:evil) ` ``');
  const md = policyMarkdown({
    generation: 1, folder: 'file:///ws', folders: ['/ws'], backend: 'bubblewrap', files: [], warnings: ['see [here](command:evil)'],
    rules: [{ key: 'network.allowedDomains', value: '` [x](command:evil) `', file: '/ws/.sandbar/policy.jsonc' }],
    ignored: [],
  } as unknown as PolicyResult);
  assert.ok(md.includes('- `` ` [x](command:evil) ` ``'), md);
  assert.ok(md.includes('- see [here]\u200b(command:evil)'), md);
});
