/** Where the CLI finds the control API's bearer token: `--token`, then `WISP_TOKEN`, then `<state-dir>/token`. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { tokenFilePath } from '../control/token.js';
import { CLI_DEFAULTS } from './defaults.js';
import { UsageError } from './errors.js';

export interface TokenChoice {
  /** The token to send, or none when none was found. */
  token: string | undefined;
  /** Where the token came from (`--token`, `WISP_TOKEN`, the file's path), or where the CLI looked and why it found none. */
  from: string;
}

/** A bearer token goes into a header: visible ASCII, no spaces. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function checked(token: string, what: string): string {
  if (!HEADER_SAFE.test(token)) throw new UsageError(`wisp: invalid token in ${what}: a bearer token is visible ASCII characters without spaces`);
  return token;
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Picks the token: `--token`, else `WISP_TOKEN`, else the file in `--state-dir` / `WISP_STATE_DIR` / `.wisp` (resolved against `cwd`). */
export function findToken(opts: { flag?: string | undefined; stateDirFlag?: string | undefined; env: NodeJS.ProcessEnv; cwd: string }): TokenChoice {
  const flag = nonEmpty(opts.flag);
  if (flag !== undefined) return { token: checked(flag, '--token'), from: '--token' };
  const fromEnv = nonEmpty(opts.env.WISP_TOKEN);
  if (fromEnv !== undefined) return { token: checked(fromEnv, 'WISP_TOKEN'), from: 'WISP_TOKEN' };
  const stateDir = nonEmpty(opts.stateDirFlag) ?? nonEmpty(opts.env.WISP_STATE_DIR) ?? CLI_DEFAULTS.stateDir;
  const file = tokenFilePath(resolve(opts.cwd, stateDir));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = errnoOf(err) === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err);
    return { token: undefined, from: `--token, WISP_TOKEN and ${file} (${why})` };
  }
  const token = nonEmpty(text);
  if (token === undefined) return { token: undefined, from: `--token, WISP_TOKEN and ${file} (empty file)` };
  return { token: checked(token, file), from: file };
}
