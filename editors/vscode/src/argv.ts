// How a command line typed by a person (or given by a language model)
// becomes the argv of sandbar/run. A plain line of words and quotes is
// split as a shell would split it, so the host names the real program in
// its prompts ("`curl` wants to reach ..."); anything that needs a shell
// (pipes, redirections, variables, globs, &&) runs under `sh -c` as typed.

/** Characters that mean something to a shell outside quotes. */
const shellSyntax = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '#', '~', '!', '{', '}', '\n', '\r']);

/**
 * Splits line into words with the shell's quoting rules ('...', "...",
 * backslash), or returns undefined when the line needs a shell: it uses
 * shell syntax outside quotes, or a "$" or "`" inside double quotes, or its
 * quotes are not closed, or an assignment starts it (FOO=1 cmd).
 */
export function splitWords(line: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        const d = line[j];
        if (d === '$' || d === '`') return undefined;
        if (d === '\\' && j + 1 < line.length && '"\\$`\n'.includes(line[j + 1])) {
          j++;
          if (line[j] !== '\n') word += line[j];
          continue;
        }
        word += d;
      }
      if (j >= line.length) return undefined;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= line.length) return undefined;
      i++;
      if (line[i] !== '\n') word += line[i];
    } else if (shellSyntax.has(c)) {
      return undefined;
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  if (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) return undefined;
  return words;
}

/** The argv that runs line: its words, else `sh -c line`. Empty for a blank line. */
export function commandArgv(line: string): string[] {
  const trimmed = line.trim();
  if (trimmed === '') return [];
  return splitWords(trimmed) ?? ['sh', '-c', trimmed];
}

/** argv as a person would type it, for headers and messages. */
export function quoteArgv(argv: string[]): string {
  return argv.map(quoteWord).join(' ');
}

function quoteWord(w: string): string {
  if (w !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) return w;
  return "'" + w.replace(/'/g, `'\\''`) + "'";
}
