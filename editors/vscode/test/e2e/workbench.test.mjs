// The extension in a real VS Code (code-server) driven through its
// workbench in headless Chromium. Each scenario also checks the host's side:
// files the command made, the policy file, the audit log. A screenshot of
// each scenario's end is saved in $ARTIFACTS.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { eventually, Workbench } from './harness.mjs';

let wb;

// scenario is a test that saves a screenshot of the workbench if it fails.
let n = 0;
function scenario(name, fn) {
  const i = ++n;
  test(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      await wb?.screenshot(`${i}-FAILED`).catch(() => undefined);
      throw e;
    }
  });
}

before(async () => {
  wb = await Workbench.start();
}, { timeout: 240_000 });

after(async () => {
  await wb?.stop();
  if (wb) {
    console.log(`# artifacts: ${wb.artifacts}`);
    assert.deepEqual(wb.offsite, [], 'the browser tried to reach hosts other than 127.0.0.1');
  }
});

scenario('the extension starts the host and the status bar shows the backend', async () => {
  const status = wb.page.locator('[id="sandbar-dev.sandbar.sandbar.status"]');
  await eventually('the status bar to show the backend', async () => (await wb.text(status)).includes('sandbar: bubblewrap'), 60_000);
  const tooltip = await status.getAttribute('aria-label');
  assert.match(tooltip, /confined by bubblewrap/);
  assert.match(tooltip, /1 workspace folder/);
  await wb.screenshot('1-status-bar');

  // The host's side: one `sandbar serve` runs for this window, with this
  // window's home, and has made its terminals' socket.
  const serves = wb.servePids();
  assert.equal(serves.length, 1, `sandbar serve processes for this window: ${serves}`);
  const run = path.join(wb.root, 'run');
  const sockets = fs.readdirSync(run).filter((d) => d.startsWith('sandbar-hosts-')).flatMap((d) => fs.readdirSync(path.join(run, d)).map((f) => path.join(d, f)));
  assert.ok(sockets.some((s) => /host-\d+\.sock$/.test(s)), `host sockets: ${sockets}`);
  // sandbar.trace.server is "messages" in these tests: the protocol is in
  // the "sandbar trace" output.
  const trace = await eventually('the trace of initialize', async () => wb.outputLog('sandbar trace'));
  assert.match(trace, /Sending request 'initialize/);
  assert.match(trace, /Received notification 'sandbar\/policyApplied'/);
});

scenario('Run Command in Sandbox prints the output', async () => {
  await wb.command('Sandbar: Run Command in Sandbox');
  await wb.answerInput(`sh -c 'echo hello from the sandbox | tee made-in-sandbox.txt'`);
  await eventually('the output channel to show the command and its end', async () => {
    const out = await wb.outputText();
    return out.includes('hello from the sandbox') && /\[sandbar\] exit 0 in .*confined/.test(out);
  });
  await wb.screenshot('2-run-command');
  assert.equal(fs.readFileSync(path.join(wb.ws, 'made-in-sandbox.txt'), 'utf8'), 'hello from the sandbox\n');
});

scenario('a path the command chose shows as text, not as a link that runs a command', async () => {
  // VS Code turns [label](command:...) in a notification's message into a
  // link that runs the command when clicked. The refused path comes from
  // the sandboxed command, so it must not become one.
  const name = '[Allow](command:workbench.action.openSettings)';
  await wb.command('Sandbar: Run Command in Sandbox');
  await wb.answerInput(`sh -c 'touch "$HOME/${name}"; echo touched=$?'`);
  const toast = wb.notification('was refused');
  await wb.settled(toast);
  const message = toast.locator('.notification-list-item-message');
  // As written on screen: the zero-width space that unlinks it shows as nothing.
  const shown = (await wb.text(message)).replace(/\u200b/g, '');
  assert.ok(shown.includes(name), `the notification does not show the path as written: ${shown}`);
  assert.equal(await message.locator('a').count(), 0, 'the path became a link in the notification');
  await wb.screenshot('2-path-as-text');
  await toast.locator('.monaco-button', { hasText: 'Deny' }).click();
  assert.ok(!fs.existsSync(path.join(wb.home, name)), 'the file was made outside the workspace');
});

scenario('an undecided host raises a notification; Allow for workspace completes the command and writes the policy', async () => {
  const host = `localhost:${wb.port}`;
  await wb.command('Sandbar: Run Command in Sandbox');
  await wb.answerInput(wb.fetchCommand(wb.port));
  const toast = wb.notification(`wants to reach ${host}`);
  await wb.settled(toast);
  assert.deepEqual(await wb.buttons(toast), ['Allow once', 'Allow for workspace', 'Always allow', 'Deny']);
  await wb.screenshot('3-network-prompt');
  await toast.locator('.monaco-button', { hasText: 'Allow for workspace' }).click();
  await eventually('the command to finish with code:200', async () => {
    const out = await wb.outputText();
    return out.includes('code:200') && out.includes('[sandbar] exit 0');
  });
  await wb.screenshot('3-network-allowed');

  const policy = fs.readFileSync(wb.workspacePolicy, 'utf8');
  for (const want of ["// The team's policy.", '// packages', `"${host}"`]) {
    assert.ok(policy.includes(want), `the workspace policy lacks ${want}:\n${policy}`);
  }
  const entry = wb.audit().find((e) => e.kind === 'network' && e.target === host);
  assert.ok(entry, `no audit entry for ${host}: ${JSON.stringify(wb.audit())}`);
  assert.equal(entry.decision, 'allowed');
  assert.equal(entry.answer, 'Allow for workspace');
  assert.match(entry.by, /user \(/);
});

scenario('an invalid policy edit shows in the Problems panel at its line', async () => {
  const original = fs.readFileSync(wb.workspacePolicy, 'utf8');
  await wb.openFile('.sandbar/policy.jsonc');
  const editor = wb.page.locator('.editor-instance .monaco-editor').first();
  await editor.waitFor();
  await editor.click();
  // Line 3 is `  "version": 1,`: a misspelt key goes on a line of its own.
  await wb.page.keyboard.press('Control+Home');
  await wb.page.keyboard.press('ArrowDown');
  await wb.page.keyboard.press('ArrowDown');
  await wb.page.keyboard.press('End');
  await wb.page.keyboard.press('Enter');
  await wb.page.keyboard.insertText('  "netwrok": {},');
  await wb.page.keyboard.press('Control+S');
  await wb.command('View: Focus Problems (Errors, Warnings, Infos)');
  const problems = wb.page.locator('.part.panel .markers-panel');
  const row = problems.locator('.monaco-list-row', { hasText: 'unknown key "netwrok"' });
  await row.first().waitFor({ timeout: 30_000 });
  const text = await wb.text(row.first());
  assert.match(text, /did you mean "network"\?/);
  assert.match(text, /sandbar/);
  assert.match(text, /Ln 4, Col 3/);
  await wb.screenshot('4-problems');

  // The host's side: the file on disk has the typo, and sandbar check
  // puts it at the same place.
  assert.match(fs.readFileSync(wb.workspacePolicy, 'utf8').split('\n')[3], /"netwrok"/);
  let check = '';
  try {
    wb.cli(['check', '--workspace', wb.ws]);
  } catch (e) {
    check = String(e.stdout) + String(e.stderr);
  }
  assert.match(check, /policy\.jsonc:4:3: unknown key "netwrok"/);

  // The file as it was, saved: the diagnostic goes away.
  await editor.click();
  await wb.page.keyboard.press('Control+A');
  await wb.page.keyboard.insertText(original);
  await wb.page.keyboard.press('Control+S');
  await eventually('the fixed file on disk', async () => fs.readFileSync(wb.workspacePolicy, 'utf8') === original);
  await eventually('the problem to go away', async () => (await row.count()) === 0);
  await wb.page.keyboard.press('Control+W');
});

scenario('the sandboxed terminal refuses touch ~/outside and allows touch inside', async () => {
  await wb.command('Sandbar: Open Sandboxed Terminal');
  const term = wb.page.locator('.part.panel .terminal-wrapper.active .xterm');
  await term.waitFor({ timeout: 30_000 });
  // The shell's prompt ends with the folder's name: "...:/.../project# ".
  const prompt = async (n) => eventually(`shell prompt ${n}`, async () => ((await wb.terminalText()).match(/project[#$] /g) ?? []).length >= n, 15_000);
  await prompt(1);
  await term.click();
  // Each line waits for the one before: what is typed before the shell
  // reads it is echoed by the terminal, then again by the shell.
  await wb.page.keyboard.type('touch ~/outside; echo "outside=$?"\n');
  await eventually('touch ~/outside to fail', async () => /^outside=1$/m.test(await wb.terminalText()), 15_000);
  await prompt(2);
  await wb.page.keyboard.type('touch inside; echo "inside=$?"\n');
  await eventually('touch inside to succeed', async () => /^inside=0$/m.test(await wb.terminalText()), 15_000);
  await prompt(3);
  // Ctrl-C reaches the shell as "\x03" and interrupts what runs.
  await wb.page.keyboard.type('echo "sle""eping"; sleep 100\n');
  await eventually('sleep to start', async () => /^sleeping$/m.test(await wb.terminalText()), 15_000);
  await wb.page.keyboard.press('Control+C');
  await prompt(4);
  await wb.page.keyboard.type('echo "after=$?"\n');
  await eventually('the interrupted sleep', async () => /^after=130$/m.test(await wb.terminalText()), 15_000);
  await wb.screenshot('5-terminal');

  assert.ok(fs.existsSync(path.join(wb.ws, 'inside')), 'inside was not made in the workspace');
  assert.ok(!fs.existsSync(path.join(wb.home, 'outside')), '~/outside was made');

  // When the shell ends, the terminal says how it went. An interactive
  // session is not offered "Allow and re-run" (re-running a whole shell
  // session is not what its user wants): no notification asks.
  await wb.page.keyboard.type('exit\n');
  const outside = path.join(wb.home, 'outside');
  await eventually('the terminal to end', async () => /Press any key to close the terminal/.test(await wb.terminalText()));
  assert.match(await wb.terminalText(), /confined, \d+ violations?/);
  assert.equal(await wb.notification('was refused').count(), 0, 'an ended terminal session offered to re-run');
  // The audit log has the refusal.
  const refused = await eventually('the audit entry of the refused write', async () =>
    wb.audit().find((e) => e.kind === 'file' && e.target === outside && e.how === 'policy'));
  assert.equal(refused.decision, 'denied');
  assert.match(refused.operation, /file-write/);
  // Any key closes the ended terminal.
  await term.click();
  await wb.page.keyboard.press('Enter');
  await eventually('the terminal to close', async () => (await wb.page.locator('.part.panel .terminal-wrapper').count()) === 0);
});

scenario('the language-model tool runs through vscode.lm.invokeTool', async () => {
  await wb.command('Sandbar Test: Invoke the sandbar_run Tool');
  await wb.answerInput('echo tool-output > tool-made.txt && cat tool-made.txt');
  const editor = wb.page.locator('.editor-instance .monaco-editor .view-lines').first();
  await eventually('the tool result', async () => (await wb.text(editor)).includes('TOOL RESULT'), 30_000);
  const text = await wb.text(editor);
  assert.match(text, /Exit code: 0/);
  assert.match(text, /Ran inside the sandbar sandbox/);
  assert.match(text, /tool-output/);
  await wb.screenshot('6-language-model-tool');
  assert.equal(fs.readFileSync(path.join(wb.ws, 'tool-made.txt'), 'utf8'), 'tool-output\n');
});

scenario('with sandbar.approvals.modal, a workspace policy that widens the sandbox asks to be trusted in a dialog', async () => {
  await wb.setting('approvals.modal', true);
  // A new entry that widens the sandbox, saved by someone else (a git
  // pull): the host asks whether to trust the file as it is now.
  const policy = fs.readFileSync(wb.workspacePolicy, 'utf8').replace('"version": 1,', '"version": 1,\n  "filesystem": {"allowWrite": ["~/.cache/team-tool"]},');
  fs.writeFileSync(wb.workspacePolicy, policy);
  const dialog = wb.dialog('would widen the sandbox');
  await wb.settled(dialog);
  const buttons = (await dialog.locator('.dialog-buttons .monaco-button').allInnerTexts()).map((t) => t.trim());
  assert.deepEqual(buttons.sort(), ['Not now', 'Trust']);
  await wb.screenshot('7-trust-dialog');
  await dialog.locator('.monaco-button', { hasText: 'Trust' }).click();
  const entry = await eventually('the trust in the audit log', async () => wb.audit().find((e) => e.kind === 'trust' && e.how === 'asked' && e.answer === 'Trust'));
  assert.equal(entry.decision, 'allowed');
  assert.equal(entry.target, wb.workspacePolicy);
  assert.match(entry.reason, /team-tool/);

  // The effective policy says the file is trusted; on the host's side,
  // its entry is in force.
  await wb.command('Sandbar: Show Effective Policy');
  const doc = wb.page.locator('.editor-instance .monaco-editor .view-lines').first();
  await eventually('the effective policy with the trusted file', async () => /\(trusted\)/.test(await wb.text(doc)), 30_000);
  await wb.screenshot('7-effective-policy');
  assert.match(wb.cli(['check']), /project\/\.sandbar\/policy\.jsonc \(approved\)/);
  await wb.setting('approvals.modal', false);
});

scenario('sandbar run in an integrated terminal asks VS Code through SANDBAR_HOST', async () => {
  await wb.command('Terminal: Create New Terminal');
  const term = wb.page.locator('.part.panel .terminal-wrapper.active .xterm');
  await term.waitFor({ timeout: 30_000 });
  await eventually('the shell prompt', async () => /project[#$]\s*$/m.test(await wb.terminalText()), 30_000).catch(async (e) => {
    throw new Error(`${e.message}; the terminal shows ${JSON.stringify(await wb.terminalText().catch((x) => x.message))}`);
  });
  await term.click();
  await wb.page.keyboard.type('echo "host=[$SANDBAR_HOST]"\n');
  const socket = await eventually('SANDBAR_HOST in the terminal', async () => /^host=\[(.+\.sock)\]$/m.exec(await wb.terminalText())?.[1]);
  assert.ok(fs.statSync(socket).isSocket(), `${socket} is not a socket`);

  const host = `localhost:${wb.port2}`;
  await wb.page.keyboard.type(`${wb.sandbar} run -- ${wb.fetchCommand(wb.port2)}\n`);
  const toast = wb.notification(`wants to reach ${host}`);
  await wb.settled(toast);
  assert.match(await wb.text(toast), /in a terminal/);
  assert.deepEqual(await wb.buttons(toast), ['Allow once', 'Allow for workspace', 'Always allow', 'Deny']);
  await wb.screenshot('8-terminal-asks');
  await toast.locator('.monaco-button', { hasText: 'Allow once' }).click();
  await eventually('the fetch to succeed', async () => /^code:200$/m.test(await wb.terminalText()), 30_000);
  await wb.screenshot('8-terminal-allowed');

  const entry = wb.audit().find((e) => e.kind === 'network' && e.target === host && e.how === 'asked');
  assert.ok(entry, `no audit entry for ${host}`);
  assert.equal(entry.answer, 'Allow once');
  assert.equal(entry.run, 'terminal');
  // Allow once writes no policy.
  assert.ok(!fs.readFileSync(wb.workspacePolicy, 'utf8').includes(host), 'Allow once wrote the policy');
  assert.ok(!fs.readFileSync(wb.userPolicy, 'utf8').includes(host), 'Allow once wrote the user policy');
});

scenario('a host that dies is started again', async () => {
  const [pid] = wb.servePids();
  assert.ok(pid, 'no sandbar serve runs');
  process.kill(Number(pid), 'SIGKILL');
  const again = await eventually('a new sandbar serve', async () => {
    const pids = wb.servePids().filter((p) => p !== pid);
    return pids.length === 1 && pids[0];
  }, 30_000);
  const status = wb.page.locator('[id="sandbar-dev.sandbar.sandbar.status"]');
  await eventually('the status bar to show the backend again', async () => (await wb.text(status)).includes('sandbar: bubblewrap'));
  // It serves: a command runs.
  await wb.command('Sandbar: Run Command in Sandbox');
  await wb.answerInput('echo after-restart');
  await eventually('the command to run on the new host', async () => /^after-restart$/m.test(await wb.outputText()));
  await wb.screenshot('9-host-restarted');
  assert.notEqual(again, pid);
});

scenario('Show Audit Log and Run Doctor show what the CLI says', async () => {
  const doc = wb.page.locator('.editor-instance .monaco-editor .view-lines').first();
  await wb.command('Sandbar: Run Doctor');
  await eventually('the doctor report', async () => {
    const text = await wb.text(doc);
    return /\$ sandbar doctor/.test(text) && /bwrap: bubblewrap/.test(text) && /sandbar can confine commands here\./.test(text);
  });
  await wb.screenshot('10-doctor');
  await wb.command('Sandbar: Show Audit Log');
  await eventually('the audit log with the answers of this session', async () => {
    const text = await wb.text(doc);
    return /\$ sandbar audit/.test(text) && text.includes(`localhost:${wb.port2}`) && /Allow once/.test(text);
  });
  await wb.screenshot('10-audit-log');
  // The host's side: the same entries, from the file.
  assert.ok(wb.audit().some((e) => e.target === `localhost:${wb.port2}` && e.answer === 'Allow once'));
});
