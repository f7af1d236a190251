/** The CLI against the real control API (buildApiServer on a random port): which token it sends, and what it says on a 401. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApiServer } from '../../../src/control/api-server.js';
import { Store } from '../../../src/control/store.js';
import { ensureToken } from '../../../src/control/token.js';
import { run } from './run.js';

describe('wisp CLI: the control API token', () => {
  let dir: string;
  let stateDir: string;
  let store: Store;
  let app: FastifyInstance;
  let server: string;
  let token: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-cli-auth-'));
    stateDir = join(dir, 'state');
    await mkdir(stateDir);
    token = (await ensureToken(stateDir)).token;
    store = await Store.open({ dir: join(dir, 'store') });
    app = buildApiServer({ store, registry: new Registry(), token });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    server = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the token from <state-dir>/token (--state-dir or WISP_STATE_DIR), WISP_TOKEN or --token', async () => {
    const ok = { code: 0, stdout: '', stderr: 'No resources found in default namespace.\n' };
    expect(await run(['get', 'ksvc', '--server', server, '--state-dir', stateDir])).toEqual(ok);
    expect(await run(['get', 'ksvc'], { env: { WISP_SERVER: server, WISP_STATE_DIR: stateDir } })).toEqual(ok);
    expect(await run(['get', 'ksvc', '--server', server], { env: { WISP_TOKEN: token } })).toEqual(ok);
    expect(await run(['--token', token, 'get', 'ksvc', '--server', server], { env: { WISP_TOKEN: 'wrong-but-overridden' } })).toEqual(ok);
  });

  it('without a token says in one line where it looked', async () => {
    const empty = join(dir, 'nowhere');
    const res = await run(['get', 'ksvc', '--server', server, '--state-dir', empty]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `wisp: the Wisp control API at ${server} wants a token and none was found: looked at --token, WISP_TOKEN and ${join(empty, 'token')} (no such file); run wisp where \`wisp up\` runs, or pass --state-dir, WISP_TOKEN or --token\n`,
    );
  });

  it('with a wrong token names where that token came from', async () => {
    const fromEnv = await run(['get', 'ksvc', '--server', server], { env: { WISP_TOKEN: 'not-the-token-at-all' } });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toBe(
      `wisp: the Wisp control API at ${server} refused the token from WISP_TOKEN (the bearer token is not the token of this Wisp (see <state-dir>/token)); pass the token in <state-dir>/token of that \`wisp up\` with --state-dir, WISP_TOKEN or --token\n`,
    );
    expect((await run(['get', 'ksvc', '--server', server, '--token', 'not-the-token-at-all'])).stderr).toMatch(/refused the token from --token \(/);
    const other = join(dir, 'other');
    await mkdir(other);
    await ensureToken(other);
    expect((await run(['get', 'ksvc', '--server', server, '--state-dir', other])).stderr).toMatch(new RegExp(`refused the token from ${join(other, 'token')} \\(`));
  });

  it('refuses a token that cannot go into a header, as misuse', async () => {
    const res = await run(['get', 'ksvc', '--server', server, '--token', 'two words']);
    expect(res).toEqual({ code: 2, stdout: '', stderr: 'wisp: invalid token in --token: a bearer token is visible ASCII characters without spaces\n' });
  });
});
