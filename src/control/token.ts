/**
 * The control API's bearer token, kept in `<state-dir>/token` (mode 0600). `wisp up` makes it on first start and
 * reuses it afterwards; it refuses a token file that group or others may read or write, as ssh refuses such a key.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TOKEN_PATTERN } from './auth.js';
import { TokenFileError } from './errors.js';

export const TOKEN_FILE_NAME = 'token';

export function tokenFilePath(stateDir: string): string {
  return join(stateDir, TOKEN_FILE_NAME);
}

export interface PlatformToken {
  token: string;
  file: string;
  /** True when this start made the token. */
  created: boolean;
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** 256 random bits, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Reads the token in `<stateDir>/token`, making it (0600) when there is none. Throws TokenFileError when it cannot be used.
 * `given` (`WISP_API_TOKEN`, e.g. from a Secret shared by every controller replica, so a client's token outlives a
 * leader change) is the token instead: it replaces the file's, so the CLI beside this `wisp up` finds it there.
 */
export async function ensureToken(stateDir: string, given?: string): Promise<PlatformToken> {
  const file = tokenFilePath(stateDir);
  if (given !== undefined) {
    await writeTokenFile(file, given);
    return { token: given, file, created: false };
  }
  const token = newToken();
  try {
    // O_EXCL: two starts racing never overwrite each other's token; the mode is set at creation, before any byte is written.
    const fh = await open(file, 'wx', 0o600);
    try {
      await fh.writeFile(`${token}\n`, 'utf8');
    } finally {
      await fh.close();
    }
    return { token, file, created: true };
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') {
      throw new TokenFileError({ file, message: `cannot create the control API token file ${file}: ${err instanceof Error ? err.message : String(err)}`, cause: err });
    }
  }
  return { token: await readExistingToken(file), file, created: false };
}

/** Writes `token` to `file` (0600) through a temporary file and a rename, so no reader sees it half written. */
async function writeTokenFile(file: string, token: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.chmod(0o600);
      await fh.writeFile(`${token}\n`, 'utf8');
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new TokenFileError({ file, message: `cannot write the control API token file ${file}: ${err instanceof Error ? err.message : String(err)}`, cause: err });
  }
}

async function readExistingToken(file: string): Promise<string> {
  let text: string;
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new TokenFileError({ file, message: `the control API token file ${file} is not a regular file` });
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
        const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
        throw new TokenFileError({
          file,
          message: `the control API token file ${file} is open to group or others (mode ${mode}); run \`chmod 600 ${file}\`, or delete it to get a new token`,
        });
      }
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof TokenFileError) throw err;
    throw new TokenFileError({ file, message: `cannot read the control API token file ${file}: ${err instanceof Error ? err.message : String(err)}`, cause: err });
  }
  const token = text.trim();
  if (!TOKEN_PATTERN.test(token)) {
    throw new TokenFileError({
      file,
      message: `the control API token file ${file} must hold one token of 16 to 4096 visible ASCII characters and no spaces; delete it to get a new token`,
    });
  }
  return token;
}
