// Builds the extension: one CommonJS bundle, dist/extension.js, with
// vscode-languageclient inside and `vscode` left to the editor; and the
// policy's JSON Schema, copied from workspace/policy where it is kept.
//
//   node esbuild.mjs               development build (source maps)
//   node esbuild.mjs --production  minified, for the .vsix
//   node esbuild.mjs --watch       rebuild on change
//   node esbuild.mjs --tests       the unit tests, into out/test/unit

import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = new Set(process.argv.slice(2));
const production = args.has('--production');

const schema = join(here, '..', '..', 'workspace', 'policy', 'policy.schema.json');

if (args.has('--tests')) {
  const dir = join(here, 'test', 'unit');
  const entryPoints = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => join(dir, f));
  await esbuild.build({
    entryPoints,
    outdir: join(here, 'out', 'test', 'unit'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    // The unit tests cover the modules that do not need VS Code.
    external: ['vscode'],
    logLevel: 'warning',
  });
} else {
  const options = {
    entryPoints: [join(here, 'src', 'extension.ts')],
    outfile: join(here, 'dist', 'extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    minify: production,
    sourcemap: production ? false : 'linked',
    logLevel: 'warning',
  };
  mkdirSync(join(here, 'dist'), { recursive: true });
  if (production) rmSync(join(here, 'dist', 'extension.js.map'), { force: true });
  copyFileSync(schema, join(here, 'dist', 'policy.schema.json'));
  if (args.has('--watch')) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  } else {
    await esbuild.build(options);
  }
}
