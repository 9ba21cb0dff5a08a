// The harness of the browser tests: a real VS Code workbench (code-server)
// with the packaged extension installed, on 127.0.0.1, under a fake home,
// driven by headless Chromium through playwright-core.
//
// It reads its inputs from the environment (test.sh sets them):
//   SANDBAR_BIN        the sandbar binary the extension runs
//   CODE_SERVER        code-server's out/node/entry.js
//   CODE_SERVER_NODE   the Node.js (24) that runs it
//   SANDBAR_VSIX       the packaged extension
//   COMPANION_VSIX     the test-only companion extension (vscode.lm.invokeTool)
//   CHROMIUM           the browser (default /usr/bin/chromium)
//   ARTIFACTS          where screenshots and logs go

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests through editors/vscode/test.sh`);
  return v;
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Waits until check returns something truthy, polling; fails after timeoutMs with what. */
export async function eventually(what, check, timeoutMs = 30_000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(everyMs);
  }
}

/** The server that a command fetches by the name "localhost": undecided by the policy. */
async function helloServer() {
  const srv = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello from the test server\n');
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return srv;
}

export class Workbench {
  static async start() {
    const wb = new Workbench();
    await wb.setUp();
    return wb;
  }

  constructor() {
    this.sandbar = need('SANDBAR_BIN');
    this.codeServer = need('CODE_SERVER');
    this.node = need('CODE_SERVER_NODE');
    this.vsix = need('SANDBAR_VSIX');
    this.companion = process.env.COMPANION_VSIX;
    this.chromium = process.env.CHROMIUM || '/usr/bin/chromium';
    this.artifacts = process.env.ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'sandbar-vscode-artifacts-'));
    fs.mkdirSync(this.artifacts, { recursive: true });
    // Not under /tmp: the sandbox has a /tmp of its own, and a home there
    // would be missing in the sandbox rather than read-only, as a real
    // home is.
    this.root = fs.mkdtempSync(path.join(process.env.SANDBAR_E2E_ROOT || '/var/tmp', 'sandbar-vscode-'));
    this.home = path.join(this.root, 'home');
    this.ws = path.join(this.root, 'project');
    this.offsite = []; // requests the browser tried outside 127.0.0.1
  }

  /** The environment of code-server, and so of the extension host and sandbar serve. */
  get env() {
    const home = this.home;
    const env = {
      HOME: home,
      USER: os.userInfo().username,
      PATH: `${path.dirname(this.node)}:/usr/local/bin:/usr/bin:/bin`,
      SHELL: '/bin/bash',
      LANG: 'C.UTF-8',
      TERM: 'xterm-256color',
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_RUNTIME_DIR: path.join(this.root, 'run'),
      TMPDIR: path.join(this.root, 'tmp'),
      // No gallery, no telemetry, no update checks: the workbench reaches
      // only this machine.
      EXTENSIONS_GALLERY: JSON.stringify({
        serviceUrl: 'http://127.0.0.1:9/gallery',
        itemUrl: 'http://127.0.0.1:9/item',
        resourceUrlTemplate: 'http://127.0.0.1:9/{publisher}/{name}/{version}/{path}',
      }),
      CS_DISABLE_FILE_DOWNLOADS: '1',
      VSCODE_CLI_DISABLE_KEYCHAIN_ENCRYPT: '1',
    };
    return env;
  }

  get userPolicy() {
    return path.join(this.home, '.config', 'sandbar', 'policy.jsonc');
  }
  get workspacePolicy() {
    return path.join(this.ws, '.sandbar', 'policy.jsonc');
  }
  get auditLog() {
    return path.join(this.home, '.local', 'state', 'sandbar', 'audit.jsonl');
  }

  /** The audit log's entries. */
  audit() {
    if (!fs.existsSync(this.auditLog)) return [];
    return fs
      .readFileSync(this.auditLog, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l));
  }

  /** The process IDs of the `sandbar serve` of this workbench. */
  servePids() {
    return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
      try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        return argv[0] === this.sandbar && argv[1] === 'serve' && env.includes(`HOME=${this.home}`);
      } catch {
        return false;
      }
    });
  }

  /** Runs the sandbar CLI as the workbench's user. */
  cli(args, opts = {}) {
    return execFileSync(this.sandbar, args, { env: this.env, encoding: 'utf8', cwd: opts.cwd ?? this.ws, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async setUp() {
    for (const d of ['home/.config/sandbar', 'home/.local/state', 'run', 'tmp', 'project/.sandbar', 'code-server/data/User', 'code-server/data/Machine', 'code-server/extensions']) {
      fs.mkdirSync(path.join(this.root, d), { recursive: true, mode: 0o700 });
    }
    // Two servers, one for the editor's runs and one for a terminal's: the
    // user policy lists their addresses, not their name, so a command
    // fetching http://localhost:PORT/ is asked about.
    this.server = await helloServer();
    this.port = this.server.address().port;
    this.server2 = await helloServer();
    this.port2 = this.server2.address().port;
    const allowed = [this.port, this.port2].flatMap((p) => [`"127.0.0.1:${p}"`, `"[::1]:${p}"`]).join(', ');
    fs.writeFileSync(this.userPolicy, `{"version": 1, "network": {"allowedDomains": [${allowed}]}}\n`);
    fs.writeFileSync(
      this.workspacePolicy,
      '// The team\'s policy.\n{\n  "version": 1,\n  "network": {\n    "allowedDomains": [\n      "registry.example", // packages\n    ],\n  },\n}\n',
    );
    fs.writeFileSync(path.join(this.ws, 'README.txt'), 'A project for the sandbar extension tests.\n');
    this.cli(['trust', '--yes', this.ws]);

    const settings = {
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'workbench.settings.enableNaturalLanguageSearch': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'extensions.ignoreRecommendations': true,
      'json.schemaDownload.enable': false,
      'npm.fetchOnlinePackageInfo': false,
      'git.enabled': false,
      'security.workspace.trust.enabled': false,
      'terminal.integrated.gpuAcceleration': 'off',
      'terminal.integrated.enablePersistentSessions': false,
      'editor.minimap.enabled': false,
      'files.autoSave': 'off',
      'chat.disableAIFeatures': true,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      // Typing in the editor types exactly what the test sends.
      'editor.autoClosingBrackets': 'never',
      'editor.autoClosingQuotes': 'never',
      'editor.autoIndent': 'none',
      'editor.quickSuggestions': { other: false, comments: false, strings: false },
      'editor.suggestOnTriggerCharacters': false,
      'editor.acceptSuggestionOnEnter': 'off',
      'editor.hover.enabled': false,
      'terminal.integrated.shellIntegration.enabled': false,
      'terminal.integrated.suggest.enabled': false,
      'sandbar.path': this.sandbar,
      'sandbar.approvals.timeoutSeconds': 300,
      'sandbar.trace.server': 'messages',
    };
    fs.writeFileSync(path.join(this.root, 'code-server/data/User/settings.json'), JSON.stringify(settings, null, 2));
    // Settings of machine scope (sandbar.path) apply in a remote window,
    // as code-server's is, only from the machine's settings.
    fs.writeFileSync(path.join(this.root, 'code-server/data/Machine/settings.json'), JSON.stringify({ 'sandbar.path': this.sandbar }, null, 2));

    const dirs = ['--user-data-dir', path.join(this.root, 'code-server/data'), '--extensions-dir', path.join(this.root, 'code-server/extensions')];
    for (const vsix of [this.vsix, this.companion].filter(Boolean)) {
      execFileSync(this.node, [this.codeServer, ...dirs, '--install-extension', vsix, '--force'], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    }

    this.csPort = await freePort();
    this.url = `http://127.0.0.1:${this.csPort}`;
    const log = fs.openSync(path.join(this.artifacts, 'code-server.log'), 'w');
    this.cs = spawn(
      this.node,
      [
        this.codeServer,
        ...dirs,
        '--bind-addr', `127.0.0.1:${this.csPort}`,
        '--auth', 'none',
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--ignore-last-opened',
        this.ws,
      ],
      { env: this.env, stdio: ['ignore', log, log], detached: true },
    );
    await eventually('code-server to listen', async () => {
      if (this.cs.exitCode !== null) throw new Error(`code-server exited with ${this.cs.exitCode}; see code-server.log`);
      const res = await fetch(`${this.url}/healthz`).catch(() => undefined);
      return res?.ok;
    }, 60_000);

    this.browser = await chromium.launch({
      executablePath: this.chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    this.context = await this.browser.newContext({ viewport: { width: 1400, height: 900 } });
    await this.context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.protocol === 'data:' || u.protocol === 'blob:' || u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.protocol === 'vscode-webview:') return route.continue();
      this.offsite.push(route.request().url());
      return route.abort();
    });
    this.page = await this.context.newPage();
    this.consoleLog = fs.createWriteStream(path.join(this.artifacts, 'browser-console.log'));
    this.page.on('console', (m) => this.consoleLog.write(`[${m.type()}] ${m.text()}\n`));
    await this.page.goto(`${this.url}/?folder=${encodeURIComponent(this.ws)}`);
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  }

  /** Text as the page shows it, with Monaco's non-breaking spaces as spaces. */
  async text(locator) {
    return (await locator.innerText()).replace(/\u00a0/g, ' ');
  }

  /** Runs a command from the command palette by its title ("Sandbar: Run Doctor"). */
  async command(title) {
    const page = this.page;
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('>' + title);
    const row = page.locator('.quick-input-list .monaco-list-row.focused');
    await eventually(`"${title}" in the command palette`, async () => (await this.text(row)).split('\n')[0].trim().startsWith(title), 15_000);
    await page.keyboard.press('Enter');
  }

  /** Sets a user setting of sandbar's through the companion extension, and waits for the extension host to see it. */
  async setting(key, value) {
    await this.command('Sandbar Test: Set a Setting of sandbar');
    await this.answerInput(`${key}=${JSON.stringify(value)}`);
    const toast = this.notification(`SETTING sandbar.${key} is ${JSON.stringify(value)}`);
    await toast.waitFor({ timeout: 15_000 });
  }

  /** A modal dialog whose message contains text. */
  dialog(text) {
    return this.page.locator('.monaco-dialog-box', { hasText: text });
  }

  /** A fetch of server (the port) by the name localhost, through the sandbox's proxy. */
  fetchCommand(port) {
    // NO_PROXY would send localhost direct, and the sandbox has no network.
    return `curl -sS --noproxy '' -x http://127.0.0.1:3128 -o /dev/null -w 'code:%{http_code}\\n' http://localhost:${port}/`;
  }

  /** Opens a file of the workspace with Quick Open. */
  async openFile(rel) {
    const page = this.page;
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(rel);
    const row = page.locator('.quick-input-list .monaco-list-row.focused');
    await eventually(`${rel} in Quick Open`, async () => (await this.text(row)).includes(path.basename(rel)), 15_000);
    await page.keyboard.press('Enter');
    const tab = page.locator('.tabs-container .tab.active', { hasText: path.basename(rel) });
    await tab.waitFor({ timeout: 15_000 });
  }

  /** Answers an input box (showInputBox) with text. */
  async answerInput(text) {
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(text);
    await this.page.keyboard.press('Enter');
  }

  /** The notification toast whose message contains text. */
  notification(text) {
    return this.page.locator('.notifications-toasts .notification-toast', { hasText: text });
  }

  /** Waits for locator to show and stop moving (a notification slides in). */
  async settled(locator, timeoutMs = 30_000) {
    await locator.waitFor({ timeout: timeoutMs });
    let last;
    await eventually('it to stop moving', async () => {
      const box = JSON.stringify(await locator.boundingBox());
      const still = box === last;
      last = box;
      return still;
    }, timeoutMs, 150);
  }

  /** The titles of a notification's buttons. */
  async buttons(toast) {
    return (await toast.locator('.notification-list-item-buttons-container .monaco-button').allInnerTexts()).map((t) => t.trim());
  }

  /** The text of the output panel (the channel shown). */
  async outputText() {
    return this.text(this.page.locator('.part.panel .output-view .monaco-editor .view-lines').first());
  }

  /** The text of the active terminal (DOM renderer). */
  async terminalText() {
    return this.text(this.page.locator('.part.panel .terminal-wrapper.active .xterm-rows').first());
  }

  async screenshot(name) {
    const file = path.join(this.artifacts, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The log file of one of the extension's output channels, as VS Code keeps it. */
  outputLog(name) {
    const logs = path.join(this.root, 'code-server/data/logs');
    const walk = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])) : []);
    const file = walk(logs).find((f) => path.basename(f).endsWith(`-${name}.log`) || path.basename(f) === `${name}.log`);
    return file ? fs.readFileSync(file, 'utf8') : '';
  }

  /** Copies the logs worth reading after a failure into the artifacts. */
  saveLogs() {
    const logs = path.join(this.root, 'code-server/data/logs');
    const walk = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])) : []);
    for (const f of walk(logs)) {
      const base = path.basename(f);
      // The extension's output channels (the host's log, its runs) and
      // the extension host's own log.
      if (/sandbar/.test(base) || base === 'exthost.log' || base === 'remoteexthost.log') {
        fs.copyFileSync(f, path.join(this.artifacts, `log-${base}`));
      }
    }
    if (fs.existsSync(this.auditLog)) fs.copyFileSync(this.auditLog, path.join(this.artifacts, 'audit.jsonl'));
    if (fs.existsSync(this.workspacePolicy)) fs.copyFileSync(this.workspacePolicy, path.join(this.artifacts, 'workspace-policy.jsonc'));
  }

  async stop() {
    try {
      this.saveLogs();
    } catch (e) {
      console.log(`# saving logs: ${e.message}`);
    }
    await this.browser?.close().catch(() => undefined);
    if (this.cs && this.cs.exitCode === null) {
      try {
        process.kill(-this.cs.pid, 'SIGTERM');
      } catch {}
      await Promise.race([new Promise((r) => this.cs.once('exit', r)), sleep(5000)]);
      try {
        process.kill(-this.cs.pid, 'SIGKILL');
      } catch {}
    }
    this.server?.close();
    this.server2?.close();
    this.consoleLog?.end();
    if (!process.env.KEEP_TMP) fs.rmSync(this.root, { recursive: true, force: true });
  }
}
