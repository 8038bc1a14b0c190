/**
 * Where credentials come from and in which order one connection offers them (ssh2's `authHandler`):
 * `none` (to learn what the server accepts), the ssh-agent, each identity file, then a password. Secrets never
 * leave this file except to ssh2: messages and log lines name key files and variables, never their contents.
 *
 * Only types come from ssh2 here; the key parser is handed in by the session (the one runtime importer).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, ParsedKey } from 'ssh2';
import { SweepError } from '../errors.js';
import { PASSWORD_ENV } from '../inventory/types.js';
import { oneLine } from './classify-error.js';

export { PASSWORD_ENV };
/** The passphrase of encrypted identity files, for unattended runs. */
export const PASSPHRASE_ENV = 'AUDITSWEEP_SSH_PASSPHRASE';
/** Prompts per encrypted key before it is given up on (like OpenSSH's NumberOfPasswordPrompts). */
export const DEFAULT_PASSPHRASE_PROMPTS = 3;

export interface PasswordTarget {
  /** The inventory name (or the jump host as written). */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
}

export interface AuthOptions {
  /** ssh-agent socket. Default: `SSH_AUTH_SOCK` from `env`; `null` disables the agent. */
  readonly agentSocket?: string | null;
  /** `--identity`: replaces the identity files of every host and hop. */
  readonly identityFiles?: readonly string[];
  /** Tried when neither the override nor the host names a file. Default ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  readonly defaultIdentityFiles?: readonly string[];
  /** Where SSH_AUTH_SOCK, AUDITSWEEP_SSH_PASSPHRASE and AUDITSWEEP_SSH_PASSWORD are read. Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Asks for the passphrase of an encrypted key file; undefined or '' gives up on that key. */
  readonly askPassphrase?: (file: string) => Promise<string | undefined>;
  /** Asks for a password when the server accepts one and the environment has none; undefined skips it. */
  readonly askPassword?: (target: PasswordTarget) => Promise<string | undefined>;
  /** Prompts per encrypted key. Default {@link DEFAULT_PASSPHRASE_PROMPTS}. */
  readonly passphrasePrompts?: number;
}

/** `utils.parseKey` of ssh2, injected by the session. */
export type KeyParser = (data: Buffer, passphrase?: string) => ParsedKey | ParsedKey[] | Error;

/** What the session lends an authentication attempt. */
export interface AuthHooks {
  readonly parseKey: KeyParser;
  /** Pause the authentication timeout (a prompt may be waiting for a human) and restart it. */
  suspend(): void;
  resume(): void;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
}

/** The user, host and identity files of one hop, as the session resolved them. */
export interface AuthTarget extends PasswordTarget {
  readonly identityFiles: readonly string[];
}

/** One connection's use of the credentials: the handler for ssh2 and what it did, for messages. */
export interface AuthAttempt {
  readonly handler: AuthHandlerMiddleware;
  /** After login: the method that worked, e.g. `publickey /home/u/.ssh/id_ed25519 (ssh-ed25519)`. */
  succeededWith(): string;
  /** One line for AUTH_FAILED: what was offered and rejected, what was skipped and why, what the server accepts. */
  failureSummary(): string;
  /** ssh2 reported an agent failure; the handler moves on to the next method. */
  noteAgentError(message: string): void;
}

export type LoadedKey =
  | { readonly ok: true; readonly key: ParsedKey; readonly encrypted: boolean }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly missing?: boolean;
      readonly wrongPassphrase?: boolean;
    };

type Step =
  | { kind: 'none' }
  | { kind: 'agent' }
  | { kind: 'key'; file: string; explicit: boolean }
  | { kind: 'password' };

interface Offered {
  readonly description: string;
  note?: string;
}

/** The user name ssh would use when the inventory gives none. */
export function defaultUser(env: Readonly<Record<string, string | undefined>> = process.env): string {
  try {
    return os.userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? 'root';
  }
}

/** ~/.ssh/id_ed25519, id_ecdsa, id_rsa: the defaults of ssh(1) that matter today, in its order of preference. */
export function defaultIdentityFiles(home: string = os.homedir()): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(home, '.ssh', f));
}

function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file;
}

/**
 * The credentials of one run: options, and the keys decrypted so far (cached per file, so each passphrase is
 * read or asked for once however many hosts use the key). Share one instance across all sessions of a run.
 */
export class AuthSources {
  readonly #options: AuthOptions;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #keys = new Map<string, Promise<LoadedKey>>();
  #prompting: Promise<unknown> = Promise.resolve();

  constructor(options: AuthOptions = {}) {
    this.#options = options;
    this.#env = options.env ?? process.env;
  }

  /** The agent socket in use, or undefined. */
  get agentSocket(): string | undefined {
    const socket =
      this.#options.agentSocket === undefined ? this.#env.SSH_AUTH_SOCK : this.#options.agentSocket;
    return socket ? socket : undefined;
  }

  /** The identity files a hop offers, in order, and whether they were named explicitly (so a missing one is news). */
  identityFilesFor(target: Pick<AuthTarget, 'identityFiles'>): { files: string[]; explicit: boolean } {
    const override = this.#options.identityFiles ?? [];
    if (override.length > 0) return { files: override.map(expandHome), explicit: true };
    if (target.identityFiles.length > 0)
      return { files: target.identityFiles.map(expandHome), explicit: true };
    return {
      files: (this.#options.defaultIdentityFiles ?? defaultIdentityFiles()).map(expandHome),
      explicit: false,
    };
  }

  /** Reads and (with a passphrase from the environment or the prompt) decrypts a key file, once per run. */
  loadKey(file: string, parseKey: KeyParser): Promise<LoadedKey> {
    let loaded = this.#keys.get(file);
    if (!loaded) {
      loaded = this.#loadKey(file, parseKey);
      this.#keys.set(file, loaded);
    }
    return loaded;
  }

  async #loadKey(file: string, parseKey: KeyParser): Promise<LoadedKey> {
    let data: Buffer;
    try {
      data = await fs.readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { ok: false, reason: 'not found', missing: true };
      return { ok: false, reason: `unreadable (${code ?? 'error'})` };
    }
    const plain = firstKey(parseKey(data));
    if (!(plain instanceof Error)) {
      return plain.isPrivateKey()
        ? { ok: true, key: plain, encrypted: false }
        : { ok: false, reason: 'not a private key' };
    }
    if (!/no passphrase given/i.test(plain.message))
      return { ok: false, reason: oneLine(plain.message, 120) };

    const sources: string[] = [];
    const tryPassphrase = (passphrase: string): LoadedKey | 'wrong' => {
      const parsed = firstKey(parseKey(data, passphrase));
      if (!(parsed instanceof Error)) {
        return parsed.isPrivateKey()
          ? { ok: true, key: parsed, encrypted: true }
          : { ok: false, reason: 'not a private key' };
      }
      if (/bad passphrase|integrity check failed/i.test(parsed.message)) return 'wrong';
      return { ok: false, reason: oneLine(parsed.message, 120) };
    };

    const fromEnv = this.#env[PASSPHRASE_ENV];
    if (fromEnv) {
      const result = tryPassphrase(fromEnv);
      if (result !== 'wrong') return result;
      sources.push(`from ${PASSPHRASE_ENV}`);
    }
    const ask = this.#options.askPassphrase;
    if (ask) {
      const prompts = Math.max(1, this.#options.passphrasePrompts ?? DEFAULT_PASSPHRASE_PROMPTS);
      for (let i = 0; i < prompts; i++) {
        const answer = await this.#serialize(() => ask(file));
        if (!answer) break;
        const result = tryPassphrase(answer);
        if (result !== 'wrong') return result;
        if (!sources.includes('typed')) sources.push('typed');
      }
    }
    if (sources.length === 0) {
      return { ok: false, reason: `encrypted, and no passphrase was given (set ${PASSPHRASE_ENV})` };
    }
    return { ok: false, reason: `wrong passphrase (${sources.join(', ')})`, wrongPassphrase: true };
  }

  /** Prompts one at a time: concurrent connections never talk over each other on the terminal. */
  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#prompting.then(fn, fn);
    this.#prompting = run.catch(() => undefined);
    return run;
  }

  async #password(target: PasswordTarget): Promise<{ password: string; source: string } | undefined> {
    const fromEnv = this.#env[PASSWORD_ENV];
    if (fromEnv) return { password: fromEnv, source: `from ${PASSWORD_ENV}` };
    const ask = this.#options.askPassword;
    if (!ask) return undefined;
    const answer = await this.#serialize(() => ask(target));
    return answer ? { password: answer, source: 'typed' } : undefined;
  }

  /** The ssh2 `authHandler` of one connection to `target`, with its bookkeeping. */
  attempt(target: AuthTarget, hooks: AuthHooks): AuthAttempt {
    const agent = this.agentSocket;
    const identities = this.identityFilesFor(target);
    const steps: Step[] = [{ kind: 'none' }];
    if (agent) steps.push({ kind: 'agent' });
    for (const file of identities.files) steps.push({ kind: 'key', file, explicit: identities.explicit });
    steps.push({ kind: 'password' });

    const offered: Offered[] = [];
    const skipped: string[] = [];
    let serverMethods: readonly string[] | undefined;
    let current: Offered | undefined;
    const username = target.user;

    const allowed = (method: AuthenticationType) =>
      serverMethods === undefined || serverMethods.includes(method);

    const suspended = async <T>(fn: () => Promise<T>): Promise<T> => {
      hooks.suspend();
      try {
        return await fn();
      } finally {
        hooks.resume();
      }
    };

    const pick = async (): Promise<AnyAuthMethod | false> => {
      for (let step = steps.shift(); step; step = steps.shift()) {
        switch (step.kind) {
          case 'none':
            current = undefined;
            return { type: 'none', username };
          case 'agent':
            if (!allowed('publickey')) continue;
            current = { description: 'ssh-agent keys' };
            offered.push(current);
            hooks.log('debug', `offering ssh-agent keys (${agent})`);
            return { type: 'agent', username, agent: agent as string };
          case 'key': {
            if (!allowed('publickey')) continue;
            const loaded = await suspended(() => this.loadKey(step.file, hooks.parseKey));
            if (!loaded.ok) {
              if (loaded.missing && !step.explicit) continue;
              skipped.push(`key ${step.file}: ${loaded.reason}`);
              hooks.log('warn', `not offering key ${step.file}: ${loaded.reason}`);
              continue;
            }
            current = { description: `key ${step.file} (${loaded.key.type})` };
            offered.push(current);
            hooks.log('debug', `offering ${current.description}`);
            return { type: 'publickey', username, key: loaded.key };
          }
          case 'password': {
            if (!allowed('password')) continue;
            const { name, address, port, user } = target;
            const password = await suspended(() => this.#password({ name, address, port, user }));
            if (!password) {
              skipped.push(`password: none given (set ${PASSWORD_ENV})`);
              continue;
            }
            current = { description: `password ${password.source}` };
            offered.push(current);
            hooks.log('debug', `offering ${current.description}`);
            return { type: 'password', username, password: password.password };
          }
        }
      }
      current = undefined;
      return false;
    };

    const handler: AuthHandlerMiddleware = (methodsLeft, _partialSuccess, next) => {
      if (Array.isArray(methodsLeft)) serverMethods = methodsLeft;
      const done = next as (method: AnyAuthMethod | false) => void;
      pick().then(done, (err: unknown) => {
        hooks.log('warn', `authentication stopped: ${oneLine(String((err as Error)?.message ?? err), 200)}`);
        done(false);
      });
    };

    return {
      handler,
      succeededWith: () => (current ? current.description : 'none (the server asked for no authentication)'),
      failureSummary: () => {
        const parts: string[] = [];
        if (offered.length > 0) {
          parts.push(
            `rejected: ${offered.map((o) => (o.note ? `${o.description} (${o.note})` : o.description)).join(', ')}`,
          );
        }
        if (skipped.length > 0) parts.push(`not offered: ${skipped.join('; ')}`);
        const anyKey = [...offered, ...skipped.map((description) => ({ description }))].some((o) =>
          o.description.startsWith('key '),
        );
        if (!agent && !anyKey) {
          parts.push(
            `no ssh-agent (SSH_AUTH_SOCK unset) and no identity file (${identities.files.join(', ') || 'none given'})`,
          );
        }
        if (serverMethods) parts.push(`the server accepts: ${serverMethods.join(', ') || 'nothing'}`);
        return `authentication as ${username} failed; ${parts.join('; ')}`;
      },
      noteAgentError: (message: string) => {
        if (current?.description === 'ssh-agent keys')
          current.note = `agent unavailable: ${oneLine(message, 120)}`;
      },
    };
  }
}

/** Shares decrypted keys across every session of a run; see {@link AuthSources}. */
export function createAuthSources(options: AuthOptions = {}): AuthSources {
  return new AuthSources(options);
}

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  if (!Array.isArray(parsed)) return parsed;
  return parsed[0] ?? new SweepError('INTERNAL', 'empty key file');
}
