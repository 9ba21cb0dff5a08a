// The wire types of sandbar's editor protocol (docs/protocol.md), as the
// host writes them in host/protocol.go. Only the parts the extension reads
// or sends are here; names are case-sensitive on the wire.

/** initialize's result: capabilities.experimental.sandbar. */
export interface BackendInfo {
  backend: string;
  version: string;
  enforces: string[];
  /** The Unix socket `sandbar run` in an integrated terminal asks through. */
  hostSocket?: string;
}

export interface InitializationOptions {
  approvalTimeoutMs?: number;
}

export interface PtySize {
  cols: number;
  rows: number;
}

export interface RunParams {
  runId?: string;
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string;
  stdinOpen?: boolean;
  timeoutMs?: number;
  pty?: PtySize;
  unconfined?: boolean;
}

export interface Violation {
  runId?: string;
  kind: string;
  operation?: string;
  path?: string;
  target?: string;
  decision: string;
  reason?: string;
  rule?: string;
  pid?: number;
  comm?: string;
  count: number;
  undone?: string;
}

export interface RunResult {
  runId: string;
  exitCode: number;
  signal: string | null;
  durationMs: number;
  violations: Violation[];
  cancelled: boolean;
  timedOut: boolean;
  confined: boolean;
  /** The run again, after the user chose "Allow and re-run". */
  rerun?: RunResult;
  /** The policy entries the user added with "Allow and re-run". */
  allowed?: string[];
}

export interface OutputParams {
  runId: string;
  stream: 'stdout' | 'stderr' | string;
  data: string;
}

export interface RunStarted {
  runId: string;
  argv: string[];
  cwd: string;
}

export interface InputParams {
  runId: string;
  data: string;
  eof?: boolean;
}

export interface ResizeParams {
  runId: string;
  cols: number;
  rows: number;
}

export interface PolicyFile {
  path: string;
  uri: string;
  folder?: string;
  trusted: boolean;
}

export interface Source {
  file: string;
  uri?: string;
  line?: number;
  column?: number;
}

export interface Rule extends Source {
  key: string;
  value: string;
}

export interface Ignored extends Source {
  key: string;
  value: string;
  reason: string;
}

export interface PolicyResult {
  generation: number;
  folder: string;
  folders: string[];
  backend: string;
  files: PolicyFile[];
  rules: Rule[];
  ignored: Ignored[];
  warnings: string[];
}

export interface PolicyError extends Source {
  message: string;
}

export interface PolicyApplied {
  generation: number;
  folder: string | null;
  ok: boolean;
  errors: PolicyError[];
  cause: 'initialize' | 'workspaceFolders' | 'policyFile' | 'trust' | string;
}

export interface TrustResult {
  folder: string;
  path: string;
  trusted: boolean;
  widens: string[];
  answer: string;
}

export interface ExplainResult {
  backend: string;
  cwd: string;
  text: string;
}

export interface MessageActionItem {
  title: string;
}

export interface ShowMessageParams {
  type: number;
  message: string;
}

export interface ShowMessageRequestParams {
  type: number;
  message: string;
  actions?: MessageActionItem[];
}

/** The methods of the protocol the extension uses. */
export const Method = {
  run: 'sandbar/run',
  runStarted: 'sandbar/runStarted',
  output: 'sandbar/output',
  violation: 'sandbar/violation',
  input: 'sandbar/input',
  resize: 'sandbar/resize',
  policy: 'sandbar/policy',
  policyApplied: 'sandbar/policyApplied',
  trust: 'sandbar/trust',
  explain: 'sandbar/explain',
} as const;

/**
 * The titles of the host's prompts (host/approvals.go). The last action
 * of each prompt is its "no", which is also what dismissing it means.
 */
export const Action = {
  allowOnce: 'Allow once',
  allowWorkspace: 'Allow for workspace',
  alwaysAllow: 'Always allow',
  deny: 'Deny',
  allowRerun: 'Allow and re-run',
  trust: 'Trust',
  notNow: 'Not now',
  runUnconfined: 'Run unconfined',
} as const;

/** JSON-RPC error codes the host answers with. */
export const ErrorCode = {
  invalidParams: -32602,
  requestFailed: -32803,
  requestCancelled: -32800,
} as const;
