/**
 * The control API with `wisp up` and the real CLI: its own loopback bind whatever --host says, the bearer token in
 * <state-dir>/token (0600, reused, refused when open to others), 401/403 Status answers, and https with a
 * self-signed certificate made by openssl.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { runCli, WispProcess } from '../support/wisp.js';

const SERVICES = '/apis/serving.knative.dev/v1/namespaces/default/services';

/** Whether anything accepts a TCP connection there: 127.0.0.2 reaches a 0.0.0.0 bind, never a 127.0.0.1 one. */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(3000) });
    return true;
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED') return false;
    throw err;
  }
}

describe('control API security (e2e)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const track = (w: WispProcess): WispProcess => (cleanups.push(() => w.cleanup()), w);

  it('--host 0.0.0.0 opens the ingresses but not the API; every API call but the probes wants the token', async () => {
    const wisp = track(await WispProcess.create());
    await wisp.start([], { args: ['--host', '0.0.0.0'] });

    expect(await answers(`http://127.0.0.2:${wisp.ports.ingress}/`)).toBe(true);
    expect(await answers(`http://127.0.0.2:${wisp.ports.api}/healthz`)).toBe(false);

    const tokenFile = join(wisp.stateDir, 'token');
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(wisp.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(wisp.output).toContain(`Control API      http://127.0.0.1:${wisp.ports.api}   (wisp --server, /healthz, /metrics; bearer token in ${tokenFile})`);

    const anonymous = await wisp.fetchAnonymous(SERVICES);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401, message: expect.stringMatching(/^Unauthorized: no Authorization header/) });
    const wrong = await wisp.fetch(SERVICES, { headers: { authorization: 'Bearer 0123456789abcdefghij' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { message: string }).message).toMatch(/the bearer token is not the token of this Wisp/);
    expect((await wisp.fetchAnonymous('/metrics')).status).toBe(401);
    expect((await wisp.fetchAnonymous('/healthz')).status).toBe(200);
    expect((await wisp.fetchAnonymous('/readyz')).status).toBe(200);
    expect((await wisp.fetch(SERVICES)).status).toBe(200);

    // DNS rebinding: a page on evil.example that resolved to 127.0.0.1 sends its own Host.
    const rebound = await httpRequest({ port: wisp.ports.api, host: `evil.example:${wisp.ports.api}`, path: SERVICES, headers: { authorization: `Bearer ${wisp.token}` } });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(JSON.parse(rebound.body).message).toContain(`got Host "evil.example:${wisp.ports.api}"`);
    expect((await httpRequest({ port: wisp.ports.api, host: `localhost:${wisp.ports.api}`, path: SERVICES, headers: { authorization: `Bearer ${wisp.token}` } })).status).toBe(200);

    // The CLI finds the token through the state dir; elsewhere it says where it looked.
    expect(await wisp.cli(['get', 'ksvc'])).toMatchObject({ code: 0, stderr: 'No resources found in default namespace.\n' });
    expect(await runCli(['get', 'ksvc', '--server', wisp.server, '--token', wisp.token])).toMatchObject({ code: 0 });
    const lost = await mkdtemp(join(tmpdir(), 'wisp-no-token-'));
    cleanups.push(() => rm(lost, { recursive: true, force: true }));
    const none = await runCli(['get', 'ksvc', '--server', wisp.server], { cwd: lost });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      `wisp: the Wisp control API at ${wisp.server} wants a token and none was found: looked at --token, WISP_TOKEN and ${join(lost, '.wisp', 'token')} (no such file); run wisp where \`wisp up\` runs, or pass --state-dir, WISP_TOKEN or --token\n`,
    );
    const stale = await runCli(['get', 'ksvc', '--server', wisp.server], { token: 'a-token-from-another-wisp' });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^wisp: the Wisp control API at \S+ refused the token from WISP_TOKEN \(the bearer token is not the token of this Wisp/);
    expect(stale.stderr.trim().split('\n')).toHaveLength(1);

    // A restart keeps the token; a token file opened to others stops start-up.
    const token = wisp.token;
    expect(await wisp.stop()).toBe(0);
    await wisp.start();
    expect(wisp.token).toBe(token);
    expect(await wisp.stop()).toBe(0);
    await chmod(tokenFile, 0o644);
    wisp.output = '';
    await expect(wisp.start()).rejects.toThrow(
      `wisp up: the control API token file ${tokenFile} is open to group or others (mode 0644); run \`chmod 600 ${tokenFile}\`, or delete it to get a new token`,
    );
  }, 90_000);

  it('--api-host 0.0.0.0 serves the API on every interface, any Host, still only with the token', async () => {
    const wisp = track(await WispProcess.create({ WISP_API_HOST: '0.0.0.0' }));
    await wisp.start();
    const wide = `http://127.0.0.2:${wisp.ports.api}`;
    expect((await fetch(`${wide}${SERVICES}`, { headers: { authorization: `Bearer ${wisp.token}` } })).status).toBe(200);
    expect((await fetch(`${wide}${SERVICES}`)).status).toBe(401);
    const named = await httpRequest({ port: wisp.ports.api, host: 'wisp.example.com', path: SERVICES, headers: { authorization: `Bearer ${wisp.token}` } });
    expect(named.status).toBe(200);
    expect(await runCli(['get', 'ksvc', '--server', wide, '--state-dir', wisp.stateDir])).toMatchObject({ code: 0 });
  }, 60_000);

  it('WISP_API_TOKEN (a Secret shared by controller replicas) is the token: two wisp ups given it take the same client token; the CLI beside each finds it', async () => {
    const shared = 'a-token-shared-by-two-replicas-0123456789';
    const a = track(await WispProcess.create({ WISP_API_TOKEN: shared }));
    const b = track(await WispProcess.create({ WISP_API_TOKEN: shared }));
    await Promise.all([a.start(), b.start()]);
    for (const w of [a, b]) {
      expect(w.token).toBe(shared);
      expect((await w.fetchAnonymous(SERVICES, { headers: { authorization: `Bearer ${shared}` } })).status).toBe(200);
      expect((await w.fetchAnonymous(SERVICES, { headers: { authorization: 'Bearer some-other-token-of-length' } })).status).toBe(401);
      expect(await w.cli(['get', 'ksvc'])).toMatchObject({ code: 0 });
    }
  }, 60_000);

  it('serves https with --api-tls-cert/--api-tls-key; the CLI trusts a self-signed certificate through NODE_EXTRA_CA_CERTS', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wisp-tls-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const cert = join(dir, 'api.crt');
    const key = join(dir, 'api.key');
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert,
    ]);
    const wisp = track(await WispProcess.create({ WISP_API_TLS_CERT: cert, WISP_API_TLS_KEY: key }));
    await wisp.start();
    expect(wisp.server).toBe(`https://127.0.0.1:${wisp.ports.api}`);
    expect(wisp.output).toContain(`Control API      https://127.0.0.1:${wisp.ports.api}   (`);
    expect(wisp.output).toContain(`NODE_EXTRA_CA_CERTS=${cert} npx wisp get ksvc --server https://127.0.0.1:${wisp.ports.api} --state-dir ${wisp.stateDir}`);

    expect((await wisp.fetch(SERVICES)).status).toBe(200);
    expect(await wisp.cli(['get', 'ksvc'])).toMatchObject({ code: 0, stderr: 'No resources found in default namespace.\n' });

    const untrusted = await runCli(['get', 'ksvc', '--server', wisp.server, '--state-dir', wisp.stateDir]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toBe(
      `wisp: cannot reach the Wisp control API at ${wisp.server} (TLS: self-signed certificate; if its certificate is self-signed, trust it with NODE_EXTRA_CA_CERTS=<cert.pem>)\n`,
    );
    const plain = await runCli(['get', 'ksvc', '--server', `http://127.0.0.1:${wisp.ports.api}`, '--state-dir', wisp.stateDir]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/if that wisp up serves https \(--api-tls-cert\), use an https:\/\/ --server/);
  }, 60_000);
});
