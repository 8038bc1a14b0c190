/**
 * Test helper: a command run in a REAL pseudo-terminal, a tmux pane on a private server (`tmux -S <dir>/sock`),
 * driven with `send-keys` and read back with `capture-pane`, as a person at a terminal would type and see.
 *
 * Each pane gets its own server, a fixed size, no status line and `remain-on-exit`, so the last screen can still
 * be read after the command ended. The environment is exactly the one given (nothing of the test runner's leaks
 * in). `stop()` kills that server only, through its socket, and the processes in its pane with it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const TMUX = '/usr/bin/tmux';

export interface TmuxPaneOptions {
  /** Shell command run in the pane (by /bin/sh -c). */
  readonly command: string;
  /** Working directory of the command. */
  readonly cwd: string;
  /** The whole environment of the pane's command (tmux adds TERM, TMUX and TMUX_PANE). */
  readonly env: Readonly<Record<string, string>>;
  /** Folder for the socket and the config file: keep the path short (a Unix socket path is ≤ 107 bytes). */
  readonly dir: string;
  /** Default 120 × 40. */
  readonly columns?: number;
  readonly rows?: number;
}

export interface WaitOptions {
  /** Default 30 s: generous, for a loaded 2-core machine. */
  readonly timeoutMs?: number;
  /** Said in the failure message. */
  readonly what?: string;
}

/** Throws (never skips) when tmux is not installed. */
export function requireTmux(): void {
  if (!existsSync(TMUX)) {
    throw new Error(
      `tmux: ${TMUX} is missing; the terminal tests drive the CLI in a tmux pane. Install the Debian package tmux (apt-get install -y tmux).`,
    );
  }
}

/** Sockets of servers not stopped yet: a test process that dies early must not leave a pane waiting for keys. */
const liveSockets = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const socket of liveSockets) {
      try {
        execFileSync(TMUX, ['-S', socket, 'kill-server'], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export { shellQuote } from '../../src/shell-quote.js';

export class TmuxPane {
  private stopped = false;

  private constructor(
    private readonly socket: string,
    private readonly target: string,
    private readonly env: Readonly<Record<string, string>>,
  ) {}

  /** Starts a private tmux server with one detached session running `options.command`. */
  static async start(options: TmuxPaneOptions): Promise<TmuxPane> {
    requireTmux();
    await fs.mkdir(options.dir, { recursive: true });
    const socket = path.join(options.dir, 'tmux.sock');
    const conf = path.join(options.dir, 'tmux.conf');
    const columns = options.columns ?? 120;
    const rows = options.rows ?? 40;
    await fs.writeFile(
      conf,
      [
        // Keep the pane (and its last screen) after the command exits.
        'set -g remain-on-exit on',
        'set -g status off',
        'set -g history-limit 10000',
        `set -g default-size ${columns}x${rows}`,
        '',
      ].join('\n'),
    );
    const target = 'run';
    const env = { ...options.env, SHELL: '/bin/sh' };
    const pane = new TmuxPane(socket, `${target}:0.0`, env);
    installExitHook();
    liveSockets.add(socket);
    await pane.tmux([
      '-f',
      conf,
      'new-session',
      '-d',
      '-s',
      target,
      '-x',
      String(columns),
      '-y',
      String(rows),
      '-c',
      options.cwd,
      options.command,
    ]);
    return pane;
  }

  private async tmux(args: readonly string[]): Promise<string> {
    // -u: the pane's text is UTF-8 whatever the locale says (the picker and the bar draw ◉ ❯ █ →).
    const { stdout } = await execFileP(TMUX, ['-u', '-S', this.socket, ...args], {
      env: this.env,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }

  /**
   * The pane's whole text, scrollback included, wrapped lines joined and trailing blanks trimmed: what the
   * person saw, without escape sequences.
   */
  async capture(): Promise<string> {
    const text = await this.tmux(['capture-pane', '-p', '-J', '-S', '-', '-E', '-', '-t', this.target]);
    return text
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .trimEnd();
  }

  /** Sends text literally, character by character as typed (`send-keys -l`). */
  async type(text: string): Promise<void> {
    await this.tmux(['send-keys', '-t', this.target, '-l', text]);
  }

  /** Sends tmux key names: `Enter`, `Space`, `Up`, `C-c`, … */
  async press(...keys: string[]): Promise<void> {
    for (const key of keys) await this.tmux(['send-keys', '-t', this.target, key]);
  }

  /**
   * Polls the pane until `pattern` shows, and returns the text it was found in; on timeout fails with the last
   * screen in the message.
   */
  async waitFor(pattern: string | RegExp, options: WaitOptions = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let text = '';
    for (;;) {
      text = await this.capture();
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text;
      if (Date.now() > deadline) {
        throw new Error(
          `tmux: ${options.what ?? 'the expected text'} (${String(pattern)}) did not show within ${timeoutMs / 1000} s. Last screen:\n${text}`,
        );
      }
      await sleep(100);
    }
  }

  /**
   * Polls `file` until it holds a number (the command line's `; echo $? > file`) and returns it; on timeout
   * fails with the last screen in the message.
   */
  async waitForExitCode(file: string, options: WaitOptions = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await fs.readFile(file, 'utf8').catch(() => '');
      if (/^\d+\n$/.test(text)) return Number(text);
      if (Date.now() > deadline) {
        throw new Error(
          `tmux: ${options.what ?? 'the command'} did not end within ${timeoutMs / 1000} s. Last screen:\n${await this.capture().catch((e: unknown) => String(e))}`,
        );
      }
      await sleep(100);
    }
  }

  /** Kills this pane's tmux server (and so the command in it, by SIGHUP). Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    liveSockets.delete(this.socket);
    await this.tmux(['kill-server']).catch(() => {
      // Already gone.
    });
  }
}
