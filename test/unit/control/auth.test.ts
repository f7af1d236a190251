import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBearer, isLoopbackBindAddress, isLoopbackHost } from '../../../src/control/auth.js';
import { TokenFileError } from '../../../src/control/errors.js';
import { ensureToken } from '../../../src/control/token.js';

describe('bearer token check', () => {
  it('tells a missing header, a header that is not Bearer, and a wrong token apart', () => {
    const token = 'abcdefghijklmnopqrstuvwxyz';
    expect(checkBearer(undefined, token)).toEqual({ ok: false, why: 'missing' });
    expect(checkBearer('  ', token)).toEqual({ ok: false, why: 'missing' });
    expect(checkBearer('Basic Zm9vOmJhcg==', token)).toEqual({ ok: false, why: 'not-bearer' });
    expect(checkBearer('Bearer', token)).toEqual({ ok: false, why: 'not-bearer' });
    expect(checkBearer(`Bearer ${token} extra`, token)).toEqual({ ok: false, why: 'not-bearer' });
    expect(checkBearer(`Bearer ${token.slice(1)}`, token)).toEqual({ ok: false, why: 'wrong-token' });
    expect(checkBearer(`Bearer ${token}x`, token)).toEqual({ ok: false, why: 'wrong-token' });
    expect(checkBearer(`Bearer ${token}`, token)).toEqual({ ok: true });
    expect(checkBearer(`BEARER\t${token} `, token)).toEqual({ ok: true });
  });
});

describe('loopback Host check', () => {
  it('accepts localhost, *.localhost, 127.0.0.0/8 and [::1] with any port; refuses everything else', () => {
    for (const h of ['localhost', 'localhost:1', 'Localhost.', 'a.b.localhost:8090', '127.0.0.1', '127.255.0.9:80', '127.1', '[::1]', '[::1]:8090', '[0::1]', '[::ffff:127.0.0.1]']) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
    for (const h of [undefined, '', 'evil.example', 'localhost.evil', 'localhostx', '128.0.0.1', '10.0.0.1:8090', '[::2]', '[fe80::1]', 'user@localhost', 'localhost/x', 'localhost?x', 'local host', '0.0.0.0']) {
      expect(isLoopbackHost(h), String(h)).toBe(false);
    }
  });

  it('knows which bind addresses are loopback only', () => {
    for (const a of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.0.0.2']) expect(isLoopbackBindAddress(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '192.168.1.2', 'fd00::2', 'wisp.example.com']) expect(isLoopbackBindAddress(a), a).toBe(false);
  });
});

describe('token file', () => {
  let dir: string;
  beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'wisp-token-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('is made once with mode 0600 and reused afterwards', async () => {
    const first = await ensureToken(dir);
    expect(first.created).toBe(true);
    expect(first.file).toBe(join(dir, 'token'));
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(first.file)).mode & 0o777).toBe(0o600);
    expect((await readFile(first.file, 'utf8')).trim()).toBe(first.token);
    const again = await ensureToken(dir);
    expect(again).toEqual({ token: first.token, file: first.file, created: false });
  });

  it('a given token (WISP_API_TOKEN) replaces the file\'s, written 0600, so every replica sharing it answers the same clients', async () => {
    const made = await ensureToken(dir);
    const given = 'shared-by-every-controller-replica';
    expect(await ensureToken(dir, given)).toEqual({ token: given, file: made.file, created: false });
    expect((await readFile(made.file, 'utf8')).trim()).toBe(given);
    expect((await stat(made.file)).mode & 0o777).toBe(0o600);
    // The file it left is a valid one: a later start without the variable keeps it.
    expect((await ensureToken(dir)).token).toBe(given);
  });

  it('refuses a token file that group or others can read, and one that holds no usable token', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'a-token-of-enough-length\n', { mode: 0o644 });
    await chmod(file, 0o644);
    await expect(ensureToken(dir)).rejects.toThrow(new TokenFileError({ file, message: `the control API token file ${file} is open to group or others (mode 0644); run \`chmod 600 ${file}\`, or delete it to get a new token` }));
    await chmod(file, 0o600);
    expect((await ensureToken(dir)).token).toBe('a-token-of-enough-length');
    await writeFile(file, 'short\n');
    await expect(ensureToken(dir)).rejects.toThrow(/must hold one token of 16 to 4096 visible ASCII characters/);
  });
});
