import { readFileSync, statSync } from 'node:fs';
import { parseEnv } from 'node:util';

/**
 * The variables of an env file that the real environment does not set (it wins); empty ones, as in a
 * copied .env.example, count as unset. A missing default .env is fine; a file named on the command
 * line that cannot be read is a problem. A file that holds secrets and is readable by others is a warning.
 */
export function readEnvFile(
  env: Record<string, string | undefined>,
  path: string,
  named: boolean,
  out: { problems: string[]; warnings: string[] },
): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (named)
      out.problems.push(
        `--dotenv ${path} cannot be read (${whyUnreadable(error)}): name a readable file of NAME=value lines, or leave --dotenv out to use .env in the working directory.`,
      );
    return {};
  }
  const fromFile = Object.entries(parseEnv(text) as Record<string, string>).filter(([name, value]) => value.trim() !== '' && !env[name]);
  if (fromFile.some(([name]) => name === 'SPOTINST_TOKEN' || name === 'AZURE_CLIENT_SECRET') && (statSync(path).mode & 0o004) !== 0) {
    out.warnings.push(`${path} holds secrets and is readable by every user on this machine; run: chmod 600 ${path}`);
  }
  return Object.fromEntries(fromFile);
}

function whyUnreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code ?? String(error);
}
