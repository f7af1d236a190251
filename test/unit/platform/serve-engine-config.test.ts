import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTIVATOR_BACKEND, backendName, keyOfBackend, modeOf, parseBackendLoad, parseShowProc, refusals, renderConfig, renderMap, servableHosts, type ModeInput } from '../../../src/platform/serve-engine/index.js';

const HAPROXY = '/usr/sbin/haproxy';

function config(dir: string) {
  return {
    ingress: { host: '127.0.0.1', port: 18080 },
    activatorPort: 18081,
    mapFile: join(dir, 'hosts.map'),
    adminSocket: join(dir, 'admin.sock'),
    errorDir: dir,
    threads: 1,
    maxconn: 4000,
    activatorTimeoutSeconds: 600,
    headersTimeoutMs: 60_000,
    keepAliveMs: 5000,
    backends: [
      { key: 'default/hello-00001', containerConcurrency: 0, timeoutSeconds: 300, slots: [{ host: '127.0.0.1', port: 40001 }, undefined] },
      { key: 'shop/cart-00002', containerConcurrency: 3, timeoutSeconds: 30, slots: [undefined, { host: '::1', port: 40002 }] },
    ],
  };
}

describe('serve engine: haproxy config rendering', () => {
  it('renders a config the real haproxy accepts (haproxy -c)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wisp-hacfg-'));
    try {
      for (const s of [502, 503, 504]) writeFileSync(join(dir, `${s}.http`), `HTTP/1.1 ${s} x\r\ncontent-length: 0\r\n\r\n`);
      writeFileSync(join(dir, 'hosts.map'), renderMap(new Map([['hello.default.localhost', 'rev_default_hello-00001']])));
      const file = join(dir, 'haproxy.cfg');
      writeFileSync(file, renderConfig(config(dir)));
      const check = spawnSync(HAPROXY, ['-c', '-f', file], { encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives each revision a backend with one server per slot, maxconn = containerConcurrency, queue and server timeouts = timeoutSeconds, connect-failure retries only', () => {
    const text = renderConfig(config('/x'));
    expect(text).toContain('  nbthread 1\n');
    expect(text).toContain('  maxconn 4000\n');
    expect(text).toContain('  http-reuse always\n');
    expect(text).toContain(`use_backend %[req.fhdr(host),lower,field(1,:),map(/x/hosts.map,${ACTIVATOR_BACKEND})]`);
    expect(text).toContain('backend be_activator\n  server activator 127.0.0.1:18081\n');
    const cart = text.slice(text.indexOf('backend rev_shop_cart-00002'));
    expect(cart).toContain('  retry-on conn-failure\n');
    expect(cart).not.toMatch(/retry-on .*(empty-response|response-timeout|5\d\d)/);
    expect(cart).toContain('  timeout queue 30s\n');
    expect(cart).toContain('  timeout server 30s\n');
    expect(cart).toContain('  server s1 127.0.0.1:1 maxconn 3 disabled\n');
    expect(cart).toContain('  server s2 [::1]:40002 maxconn 3\n');
    const hello = text.slice(text.indexOf('backend rev_default_hello-00001'), text.indexOf('backend rev_shop_cart-00002'));
    expect(hello).toContain('  server s1 127.0.0.1:40001\n');
    expect(hello).toContain('  server s2 127.0.0.1:1 disabled\n');
  });

  it('names backends after revision keys, one to one', () => {
    expect(backendName('default/hello-00001')).toBe('rev_default_hello-00001');
    expect(keyOfBackend('rev_default_hello-00001')).toBe('default/hello-00001');
    expect(keyOfBackend(ACTIVATOR_BACKEND)).toBeUndefined();
  });
});

describe('serve engine: which hosts may be served, and the mode rule (Knative SKS)', () => {
  it('serves hosts of a single target at 100 %; splits and 0 % targets stay on the activator', () => {
    const hosts = new Map([
      ['hello.default.localhost', { namespace: 'default', service: 'hello', targets: [{ revision: 'default/hello-00001', percent: 100 }] }],
      ['split.default.localhost', { namespace: 'default', service: 'split', targets: [{ revision: 'default/split-00001', percent: 50 }, { revision: 'default/split-00002', percent: 50 }] }],
      ['off.default.localhost', { namespace: 'default', service: 'off', targets: [{ revision: 'default/off-00001', percent: 0 }] }],
    ]);
    expect([...servableHosts(hosts)]).toEqual([['hello.default.localhost', 'default/hello-00001']]);
  });

  const warm: ModeInput = { backendLive: true, ready: 1, slots: 32, failed: false, targetBurstCapacity: 211, excessBurstCapacity: 0, held: false };
  it('serve with ready replicas and excess burst capacity ≥ 0; proxy otherwise', () => {
    expect(modeOf(warm)).toBe('serve');
    expect(modeOf({ ...warm, excessBurstCapacity: -5 })).toBe('proxy');
    expect(modeOf({ ...warm, excessBurstCapacity: undefined })).toBe('proxy');
    expect(modeOf({ ...warm, ready: 0 })).toBe('proxy');
  });
  it('target-burst-capacity −1: always serve when ready; 0: serve when ready without waiting for a decision', () => {
    expect(modeOf({ ...warm, targetBurstCapacity: -1, excessBurstCapacity: undefined })).toBe('serve');
    expect(modeOf({ ...warm, targetBurstCapacity: 0, excessBurstCapacity: undefined })).toBe('serve');
    expect(modeOf({ ...warm, targetBurstCapacity: -1, ready: 0 })).toBe('proxy');
  });
  it('proxy while the backend is not loaded yet, a scale-down is under way, the revision failed, or replicas outnumber slots', () => {
    expect(modeOf({ ...warm, backendLive: false })).toBe('proxy');
    expect(modeOf({ ...warm, held: true })).toBe('proxy');
    expect(modeOf({ ...warm, failed: true })).toBe('proxy');
    expect(modeOf({ ...warm, ready: 33 })).toBe('proxy');
  });
});

describe('serve engine: reading haproxy\'s answers', () => {
  it('show proc: reloads, failed reloads and current workers (not old ones)', () => {
    const text = `#<PID>          <type>          <reloads>       <uptime>        <version>
12136           master          2 [failed: 1]   0d00h10m24s     2.6.12
# workers
27644           worker          0               0d00h00m01s     2.6.12
# old workers
27000           worker          1               0d00h00m05s     2.6.12
# programs
`;
    expect(parseShowProc(text)).toEqual({ masterReloads: 2, failedReloads: 1, workers: [27644] });
  });
  it('show stat: queued + current sessions per backend row', () => {
    const csv = `# pxname,svname,qcur,qmax,scur,smax,slim,stot
be_activator,BACKEND,0,0,2,5,4000,10
rev_default_hello-00001,s1,1,1,3,3,,7
rev_default_hello-00001,BACKEND,4,4,3,3,400,7
`;
    expect([...parseBackendLoad(csv)]).toEqual([
      ['be_activator', 2],
      ['rev_default_hello-00001', 7],
    ]);
  });
  it('refusals: lines of a refused runtime command', () => {
    expect(refusals('\nNo such server.\n\n')).toEqual(['No such server.']);
    expect(refusals("\nno need to change the addr, port changed from '1' to '4000' by 'stats socket command'\n")).toEqual([]);
  });
});

describe('serve engine: finding haproxy', () => {
  it('takes WISP_HAPROXY when executable, else PATH, else /usr/sbin/haproxy; says how to install it when none is', async () => {
    const { findHaproxy } = await import('../../../src/platform/serve-engine/index.js');
    expect(await findHaproxy({ explicit: HAPROXY })).toBe(HAPROXY);
    expect(await findHaproxy({ pathEnv: '/nonexistent-dir' })).toBe(HAPROXY);
    await expect(findHaproxy({ explicit: '/nonexistent/haproxy' })).rejects.toThrow('serve engine haproxy: WISP_HAPROXY=/nonexistent/haproxy is not an executable file; install it (Debian/Ubuntu: apt-get install haproxy) or point WISP_HAPROXY at the binary');
  });
});

describe('serve engine: haproxy\'s load as the autoscaler sees it', () => {
  it('averages queued + in-flight over the interval\'s polls; served revisions are reported at 0 too', async () => {
    const { LoadWindow } = await import('../../../src/platform/serve-engine/index.js');
    const w = new LoadWindow();
    w.served(['default/a-00001']);
    w.sample(new Map([['rev_default_a-00001', 4], ['rev_default_b-00001', 1], ['be_activator', 9]]));
    w.sample(new Map([['rev_default_a-00001', 2], ['rev_default_b-00001', 0]]));
    w.served(['default/c-00001']);
    expect(w.drain()).toEqual([
      { key: 'default/a-00001', concurrency: 3 },
      { key: 'default/c-00001', concurrency: 0 },
      { key: 'default/b-00001', concurrency: 0.5 },
    ]);
    // A new interval; without an answered poll there is nothing to report.
    w.served(['default/a-00001']);
    expect(w.drain()).toEqual([]);
  });
});
