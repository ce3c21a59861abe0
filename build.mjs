// `npm run build` (and `prepack`): bin/spot-azure-onboard.ts and everything it loads, the SDKs
// included, bundled into dist/ as plain JavaScript that needs no tsx and no node_modules. ESM with
// code splitting keeps each `await import(...)` of an SDK a chunk of its own, loaded only when a step
// needs it, so --help stays as fast as bare Node. The licenses of the bundled packages go with it.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const out = 'dist';
rmSync(out, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: { 'spot-azure-onboard': 'bin/spot-azure-onboard.ts' },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.12',
  chunkNames: 'chunks/[name]-[hash]',
  // Whitespace and syntax only: identifiers stay readable in a --verbose stack trace.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // The SDKs are CommonJS and call require() for Node's own modules; an ES module has no require of its own.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

// A dynamic import() of a CommonJS module gives a chunk with nothing but a default export, so names read
// from it would be undefined at run time; lib/clients/*-sdk.ts re-export such packages statically instead.
for (const [file, output] of Object.entries(metafile.outputs)) {
  if (output.entryPoint && output.entryPoint !== 'bin/spot-azure-onboard.ts' && output.exports.join() === 'default') {
    throw new Error(
      `${file}: ${output.entryPoint} is CommonJS loaded with import(); re-export what is needed from a module of ours (see lib/clients/arm-sdk.ts)`,
    );
  }
}

/** The package folder (under node_modules) of every bundled input, once each. */
const packages = new Set(
  Object.keys(metafile.inputs)
    .map((input) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1])
    .filter((dir) => dir !== undefined),
);
const notices = [...packages].sort().map((dir) => {
  const { name, version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `License: ${license ?? 'not stated'} (no license file in the package)`;
  return `${name}@${version}\n${'-'.repeat(name.length + version.length + 1)}\n${text}\n`;
});
writeFileSync(join(out, 'THIRD-PARTY-LICENSES.txt'), `Packages bundled into this directory, each under its own license:\n\n${notices.join('\n')}`);
process.stderr.write(`dist/: ${packages.size} bundled packages, ${Object.keys(metafile.outputs).length} files\n`);
