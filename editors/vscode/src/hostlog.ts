// What of the host's stderr reaches the output channel. The host writes
// each log line both to stderr ("sandbar serve: ...") and, once a session
// is initialized, as window/logMessage, which the language client already
// puts in the channel; those copies are left out. Everything else (a
// failure to start, a Go panic) is shown.

const logPrefix = 'sandbar serve: ';

export function stderrLineShown(line: string, running: boolean): boolean {
  if (line.trim() === '') return false;
  return !(running && line.startsWith(logPrefix));
}
