import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runProgram, workdir } from './cli.ts';

const demo = fileURLToPath(new URL('../demo.ts', import.meta.url));

test('npm run demo, without a terminal, links, checks, rotates and removes against its own emulator', async () => {
  const run = await runProgram(process.execPath, ['--import', import.meta.resolve('tsx'), demo], {
    env: { ...process.env } as Record<string, string>,
    cwd: workdir(),
  });
  assert.is(run.code, 0, run.stdout + run.stderr);
  for (const command of ['provision --account-id', 'status --account-id', 'rotate-secret --account-id', 'deprovision --account-id']) {
    assert.match(run.stdout, `$ spot-azure-onboard ${command}`);
  }
  assert.match(run.stdout, 'is linked to Azure');
  assert.match(run.stdout, 'uses a new client secret');
  assert.match(run.stdout, 'Done: linked, checked, rotated and removed.');
  assert.not.match(run.stdout, '\x1b[', 'ANSI codes without a terminal');
});

test.run();
