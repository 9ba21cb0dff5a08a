import assert from 'node:assert/strict';
import { test } from 'node:test';

import { commandArgv, quoteArgv, splitWords } from '../../src/argv';

test('plain words and quotes are split as a shell would', () => {
  const cases: [string, string[]][] = [
    ['make test', ['make', 'test']],
    ['  go   test  ./... ', ['go', 'test', './...']],
    [`echo 'a b' "c d" e\\ f`, ['echo', 'a b', 'c d', 'e f']],
    [`printf "%s\\n" x`, ['printf', '%s\\n', 'x']],
    [`say "it's" 'say "hi"'`, ['say', "it's", 'say "hi"']],
    [`echo ""`, ['echo', '']],
    [`echo a""b`, ['echo', 'ab']],
    [`echo "a\\"b"`, ['echo', 'a"b']],
    ['npm run build -- --mode=prod', ['npm', 'run', 'build', '--', '--mode=prod']],
    ['curl -sS --noproxy \'\' -w code:%{http_code} x', undefined as unknown as string[]],
  ];
  for (const [line, want] of cases) assert.deepEqual(splitWords(line), want, line);
});

test('a line that needs a shell is left to sh -c', () => {
  for (const line of ['make && make test', 'ls | wc -l', 'echo $HOME', 'echo "$HOME"', 'ls *.go', 'cat < in', 'echo hi > out', 'a; b', 'FOO=1 make', '(cd x)', "echo 'open", 'echo "open', 'echo `date`', 'echo ~', 'x # comment', 'echo \\']) {
    assert.equal(splitWords(line), undefined, line);
    assert.deepEqual(commandArgv(line), ['sh', '-c', line.trim()], line);
  }
});

test('a blank line is no command', () => {
  assert.deepEqual(commandArgv('   '), []);
  assert.deepEqual(commandArgv('make'), ['make']);
});

test('argv is quoted back for messages', () => {
  assert.equal(quoteArgv(['sh', '-c', "echo 'hi' && ls"]), `sh -c 'echo '\\''hi'\\'' && ls'`);
  assert.equal(quoteArgv(['go', 'test', './...', '']), `go test ./... ''`);
  for (const line of ['a b', `x 'y z'`, `p "q'r"`]) {
    const argv = splitWords(line)!;
    assert.deepEqual(splitWords(quoteArgv(argv)), argv, line);
  }
});
