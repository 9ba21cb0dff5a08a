// The policy's JSON Schema is read by VS Code with ECMAScript regular
// expressions; workspace/policy/schema_test.go checks it against the Go
// parser with Go's. This checks that ECMAScript reads every pattern, with
// and without the u flag, and agrees on a few values of each kind.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const schemaPath = path.join(__dirname, '..', '..', '..', '..', '..', 'workspace', 'policy', 'policy.schema.json');
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));

function patterns(s: any, at: string, out: [string, string][]) {
  if (!s || typeof s !== 'object') return out;
  if (typeof s.pattern === 'string') out.push([at, s.pattern]);
  for (const [k, v] of Object.entries(s)) if (k !== 'pattern') patterns(v, `${at}/${k}`, out);
  return out;
}

test('every pattern is an ECMAScript regular expression', () => {
  const all = patterns(schema, '#', []);
  assert.ok(all.length > 5);
  for (const [at, p] of all) {
    assert.doesNotThrow(() => new RegExp(p), at);
    assert.doesNotThrow(() => new RegExp(p, 'u'), at);
  }
});

test('the patterns agree with the parser on a few values', () => {
  const def = (name: string) => new RegExp(schema.definitions[name].pattern, 'u');
  const cases: [string, string, boolean][] = [
    ['path', '~/.cache/x', true],
    ['path', 'rel/dir', true],
    ['path', '~bob', false],
    ['path', '*.pem', false],
    ['domain', '*.example.com:443', true],
    ['domain', 'bücher.de', true],
    ['domain', '[::1]:8080', true],
    ['domain', 'https://example.com', false],
    ['domain', 'example.com/api', false],
    ['domain', 'ex_ample.com', false],
    ['gitHost', 'github.com', true],
    ['gitHost', '*.github.com', false],
    ['repository', 'github.com/me/project', true],
    ['repository', 'github.com', false],
    ['branch', 'agent/*', true],
    ['branch', 'a b', false],
    ['envPattern', '*TOKEN*', true],
    ['envPattern', 'MY-VAR', false],
    ['envName', 'CI', true],
    ['envName', '1A', false],
  ];
  for (const [name, value, ok] of cases) assert.equal(def(name).test(value), ok, `${name}: ${value}`);
});
