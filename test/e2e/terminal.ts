import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = import.meta.resolve('tsx');

/** A real terminal: the CLI runs in a tmux pane, keys go in with send-keys, the screen comes back with capture-pane. */
export class Terminal {
  readonly #socket: string;

  private constructor(socket: string) {
    this.#socket = socket;
  }

  /**
   * Starts `scripts/<script>` in a 120×40 pane; when it exits, the pane shows `[exit N]` and stays.
   * `stdoutTo`: a file that takes the script's stdout, so the pane shows only what it writes to stderr.
   */
  static start(script: string, args: string[], options: { env: Record<string, string>; cwd: string; stdoutTo?: string }): Terminal {
    const launcher = join(options.cwd, 'launch.sh');
    const exports = Object.entries(options.env)
      .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
      .join('\n');
    const redirect = options.stdoutTo === undefined ? '' : ` > ${shellQuote(options.stdoutTo)}`;
    const command = [process.execPath, '--import', tsx, join(root, 'scripts', script), ...args].map(shellQuote).join(' ') + redirect;
    writeFileSync(launcher, `${exports}\ncd ${shellQuote(options.cwd)}\n${command}\necho "[exit $?]"\nsleep 600\n`);
    const terminal = new Terminal(`onboard-${process.pid}-${Date.now()}`);
    terminal.#tmux(
      'new-session',
      '-d',
      '-x',
      '120',
      '-y',
      '40',
      '-s',
      'cli',
      `env -i HOME=${shellQuote(process.env.HOME ?? '/tmp')} TERM=xterm-256color PATH=${shellQuote(process.env.PATH ?? '')} sh ${shellQuote(launcher)}`,
    );
    return terminal;
  }

  screen(): string {
    return this.#tmux('capture-pane', '-p', '-t', 'cli');
  }

  /** Keys as tmux names them: literal text, or 'Enter', 'Down', 'C-c'. */
  send(...keys: string[]): void {
    this.#tmux('send-keys', '-t', 'cli', ...keys);
  }

  type(text: string): void {
    this.#tmux('send-keys', '-t', 'cli', '-l', text);
  }

  /** Waits (bounded) until the screen shows `text`; returns the screen. */
  async waitFor(text: string | RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(text)}; it shows:\n${screen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    try {
      this.#tmux('kill-server');
    } catch {
      // Already gone.
    }
  }

  #tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.#socket, ...args], { encoding: 'utf8' });
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
