// The small pieces: prompts, the host's stderr, finding things, routing
// a run's notifications.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { answer, promptItems, splitMessage } from '../../src/approvals';
import { stderrLineShown } from '../../src/hostlog';
import { locateSandbar, terminalShell, toolCwd } from '../../src/locate';
import { OutputBuffer, RunRouter } from '../../src/runs';

const network = [{ title: 'Allow once' }, { title: 'Allow for workspace' }, { title: 'Always allow' }, { title: 'Deny' }];

test('prompts offer exactly the host actions', () => {
  assert.deepEqual(promptItems(network, false), network);
  const modal = promptItems(network, true);
  assert.deepEqual(modal.map((i) => i.title), network.map((a) => a.title));
  // The "no" closes the dialog, instead of an extra Cancel.
  assert.deepEqual(modal.map((i) => !!i.isCloseAffordance), [false, false, false, true]);
  assert.deepEqual(promptItems(undefined, true), []);
});

test('an answer is one of the host actions or null', () => {
  assert.deepEqual(answer(network, { title: 'Allow for workspace' }), { title: 'Allow for workspace' });
  assert.equal(answer(network, undefined), null);
  assert.equal(answer(network, { title: 'Cancel' }), null);
});

test('a modal question is split into a title and detail', () => {
  assert.deepEqual(splitMessage('`curl` (in p) wants to reach x:1, which the policy does not allow.'), { title: '`curl` (in p) wants to reach x:1, which the policy does not allow.' });
  assert.deepEqual(splitMessage('Run `rm` WITHOUT the sandbox? It could read your secrets.'), { title: 'Run `rm` WITHOUT the sandbox?', detail: 'It could read your secrets.' });
  assert.deepEqual(splitMessage('first\nsecond'), { title: 'first', detail: 'second' });
});

test("the host's log lines are not shown twice", () => {
  assert.equal(stderrLineShown('sandbar serve: policy generation 1 applied', true), false);
  assert.equal(stderrLineShown('sandbar serve: policy generation 1 applied', false), true);
  assert.equal(stderrLineShown('panic: runtime error', true), true);
  assert.equal(stderrLineShown('   ', false), false);
});

test('the sandbar binary: the setting, else PATH', () => {
  const files = new Set(['/usr/local/bin/sandbar', '/home/me/bin/sandbar', '/ws/bin/sandbar', '/opt/sb']);
  const isExecutable = (p: string) => files.has(p);
  const base = { pathEnv: '/usr/bin::/usr/local/bin', home: '/home/me', workspaceFolder: '/ws', isExecutable };
  assert.deepEqual(locateSandbar({ ...base, setting: '' }), { ok: true, path: '/usr/local/bin/sandbar' });
  assert.deepEqual(locateSandbar({ ...base, setting: '~/bin/sandbar' }), { ok: true, path: '/home/me/bin/sandbar' });
  assert.deepEqual(locateSandbar({ ...base, setting: '${workspaceFolder}/bin/sandbar' }), { ok: true, path: '/ws/bin/sandbar' });
  assert.deepEqual(locateSandbar({ ...base, setting: 'bin/sandbar' }), { ok: true, path: '/ws/bin/sandbar' });
  assert.deepEqual(locateSandbar({ ...base, setting: ' /opt/sb ' }), { ok: true, path: '/opt/sb' });
  const missing = locateSandbar({ ...base, setting: '/nope/sandbar' });
  assert.equal(missing.ok, false);
  assert.match(!missing.ok ? missing.message : '', /\/nope\/sandbar is not an executable file/);
  const none = locateSandbar({ ...base, pathEnv: '/usr/bin', setting: '' });
  assert.match(!none.ok ? none.message : '', /no "sandbar" was found on PATH/);
  const noFolder = locateSandbar({ ...base, workspaceFolder: undefined, setting: '${workspaceFolder}/x' });
  assert.equal(noFolder.ok, false);
});

test("the terminal's shell", () => {
  const exists = (p: string) => p === '/bin/bash' || p === '/usr/bin/zsh';
  assert.deepEqual(terminalShell('fish', '/usr/bin/zsh', exists), ['fish']);
  assert.deepEqual(terminalShell('', '/usr/bin/zsh', exists), ['/usr/bin/zsh']);
  assert.deepEqual(terminalShell('', '/gone/zsh', exists), ['/bin/bash']);
  assert.deepEqual(terminalShell('', undefined, () => false), ['/bin/sh']);
});

test("a tool call's directory", () => {
  assert.equal(toolCwd(undefined, []), undefined);
  assert.equal(toolCwd(undefined, ['/a', '/b']), '/a');
  assert.equal(toolCwd('.', ['/a']), '/a');
  assert.equal(toolCwd('sub/dir', ['/a']), '/a/sub/dir');
  assert.equal(toolCwd('/b/x/../y', ['/a']), '/b/y');
});

test("a run's notifications reach only its sink", () => {
  const router = new RunRouter('w');
  const a = router.newId('run');
  const b = router.newId('run');
  assert.notEqual(a, b);
  const got: string[] = [];
  const stop = router.register(a, {
    started: (p) => got.push(`started ${p.runId}`),
    output: (s, d) => got.push(`${s}:${d}`),
    violation: (v) => got.push(`violation ${v.kind}`),
  });
  router.started({ runId: a, argv: ['x'], cwd: '/' });
  router.output({ runId: a, stream: 'stdout', data: 'hi' });
  router.output({ runId: b, stream: 'stdout', data: 'not mine' });
  router.violation({ runId: a, kind: 'network', decision: 'denied', count: 1 });
  router.violation({ kind: 'network', decision: 'denied', count: 1 });
  stop();
  router.output({ runId: a, stream: 'stdout', data: 'after' });
  assert.deepEqual(got, [`started ${a}`, 'stdout:hi', 'violation network']);
  assert.equal(router.size, 0);
});

test('the tool keeps the start and the end of long output', () => {
  const buf = new OutputBuffer(20);
  buf.output('stdout', 'abcdefghij'); // the head
  buf.output('stdout', '0123456789');
  buf.output('stdout', 'KLMNOPQRST');
  assert.equal(buf.text(), 'abcdefghij\n… [10 characters cut] …\nKLMNOPQRST');
  const small = new OutputBuffer(20);
  small.output('stderr', 'x\n');
  assert.equal(small.text(), 'x\n');
});
