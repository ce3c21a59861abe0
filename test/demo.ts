// `npm run demo`: try the tool without Azure or Spot. Starts the test emulator (Entra ID, Graph, ARM and
// Spot on 127.0.0.1) and runs what a new user would run, as the packaged CLI (bin/spot-azure-onboard.ts,
// the same commands as scripts/*.ts): provision (guided at a terminal: pick the account and the
// subscription, see the plan, confirm), status, rotate-secret and deprovision. Nothing leaves the machine.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cliEnv, workdir } from './e2e/cli.ts';
import { withEmulator } from './emulator/server.ts';

const bin = fileURLToPath(new URL('../bin/spot-azure-onboard.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');
const atTerminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
const say = (text: string) => process.stdout.write(atTerminal ? `\n\x1b[1m${text}\x1b[0m\n` : `\n${text}\n`);

/** Runs one command on this terminal, showing it as the user would type it. */
function run(args: string[], env: Record<string, string>, cwd: string): Promise<number> {
  say(`$ spot-azure-onboard ${args.join(' ')}`);
  const child = spawn(process.execPath, ['--import', tsx, bin, ...args], { env, cwd, stdio: [atTerminal ? 'inherit' : 'ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

const failed = await withEmulator({ subscriptions: [{ displayName: 'Dev subscription' }, { displayName: 'Production' }], accounts: 2 }, async (e) => {
  const account = e.store.spot.accounts[0]!.accountId;
  // Signed in as `az login` or AZURE_CLIENT_ID/… would be, with the Spot token exported; the account and
  // the subscription are left for the guided mode to ask.
  const env = cliEnv(e, { SPOTINST_ACCOUNT: undefined, AZURE_SUBSCRIPTION_ID: undefined });
  const cwd = workdir();
  process.stdout.write(
    `A demo against a local emulator of Entra ID, Microsoft Graph, Azure Resource Manager and Spot: nothing leaves this machine.\n` +
      `The Spot token and the Azure sign-in are already in the environment, as "export SPOTINST_TOKEN=…" and "az login" would leave them.\n` +
      `State files go to ${cwd}/.spot-azure-onboard/.\n`,
  );
  const steps: string[][] = [
    atTerminal ? ['provision'] : ['provision', '--account-id', account, '--subscription', e.store.subscriptions[0]!.subscriptionId],
    ['status', '--account-id', account],
    ['rotate-secret', '--account-id', account],
    ['deprovision', '--account-id', account, '--yes'],
  ];
  for (const args of steps) {
    const code = await run(args, env, cwd);
    if (code !== 0) return `spot-azure-onboard ${args[0]} exited ${code}`;
  }
  return undefined;
});
say(failed ? `The demo stopped: ${failed}.` : 'Done: linked, checked, rotated and removed. On a real tenant the same commands run against Azure and Spot.');
process.exitCode = failed ? 1 : 0;
