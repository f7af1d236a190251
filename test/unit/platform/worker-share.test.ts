import { describe, expect, it } from 'vitest';
import type { RevisionState, RouteEntry } from '../../../activator/index.js';
import { resolveUpOptions } from '../../../src/cli/config.js';
import { UsageError } from '../../../src/cli/errors.js';
import { routeClosures, sharedLimit, workerRevision } from '../../../src/platform/worker-share.js';

const ep = (n: number) => ({ id: `r${n}`, host: '127.0.0.1', port: 9000 + n });
const rev = (name: string, cc: number, replicas: number): RevisionState => ({
  key: `default/${name}`,
  namespace: 'default',
  service: name.split('-')[0]!,
  revision: name,
  containerConcurrency: cc,
  timeoutSeconds: 300,
  endpoints: Array.from({ length: replicas }, (_, i) => ep(i)),
});
const route = (service: string, ...targets: [string, number][]): RouteEntry => ({
  namespace: 'default',
  service,
  targets: targets.map(([r, percent]) => ({ revision: `default/${r}`, percent })),
});
const owner = { host: '127.0.0.1', port: 7000 };

function views(states: RevisionState[], hosts: [string, RouteEntry][], count: number, key: string) {
  const map = new Map(states.map((s) => [s.key, s]));
  const closures = routeClosures({ hosts: new Map(hosts) });
  return Array.from({ length: count }, (_, index) => workerRevision(key, map, closures, { index, count }, owner)!);
}

/** What the workers together may send each replica of `key` at once. */
function perReplica(vs: ReturnType<typeof views>): Map<number, number> {
  const sum = new Map<number, number>();
  for (const v of vs) {
    if (v.forwarded) continue;
    for (const e of v.state.endpoints) sum.set(e.port, (sum.get(e.port) ?? 0) + v.state.containerConcurrency);
  }
  return sum;
}

describe('data-plane workers: each worker\'s share of a revision (worker-share.ts)', () => {
  it('splits a limit across the workers so that it adds up to exactly cc per replica when replicas < workers', () => {
    for (const [cc, n] of [[10, 2], [7, 3], [3, 3], [5, 4]] as const) {
      const limits = Array.from({ length: n }, (_, index) => sharedLimit(cc, { index, count: n }));
      expect(limits.reduce((a, b) => a + b, 0)).toBe(cc);
      expect(Math.max(...limits) - Math.min(...limits)).toBeLessThanOrEqual(1);
      const vs = views([rev('a-00001', cc, n - 1)], [], n, 'default/a-00001');
      for (const total of perReplica(vs).values()) expect(total).toBe(cc);
    }
  });

  it('gives each replica to one worker (Knative subsetting) when there are at least as many replicas as workers', () => {
    const vs = views([rev('a-00001', 4, 5)], [], 2, 'default/a-00001');
    expect(vs.map((v) => v.state.endpoints.length)).toEqual([3, 2]);
    expect(vs.every((v) => v.state.containerConcurrency === 4 && !v.forwarded)).toBe(true);
    expect([...perReplica(vs).values()]).toEqual([4, 4, 4, 4, 4]);
  });

  it('leaves unlimited revisions alone: every worker, every replica', () => {
    const s = rev('a-00001', 0, 1);
    const vs = views([s], [], 3, s.key);
    for (const v of vs) expect(v).toEqual({ state: s, forwarded: false });
  });

  it('cc 1 with 2 workers and 1 replica (or none, at zero): worker 1 forwards to worker 0, which holds the whole limit', () => {
    for (const replicas of [0, 1]) {
      const [w0, w1] = views([rev('a-00001', 1, replicas)], [['a.default', route('a', ['a-00001', 100])]], 2, 'default/a-00001');
      expect(w0).toMatchObject({ forwarded: false, state: { containerConcurrency: 1, endpoints: rev('a-00001', 1, replicas).endpoints } });
      expect(w1).toMatchObject({ forwarded: true, state: { containerConcurrency: 0, endpoints: [{ host: owner.host, port: owner.port }] } });
    }
    // With 2 replicas each worker has one of its own again.
    const two = views([rev('a-00001', 1, 2)], [], 2, 'default/a-00001');
    expect(two.map((v) => [v.forwarded, v.state.endpoints.length])).toEqual([[false, 1], [false, 1]]);
  });

  it('forwards every revision that shares a route with a forwarded one, so that worker 0 draws the split alone', () => {
    const states = [rev('a-00001', 1, 1), rev('a-00002', 0, 1), rev('b-00001', 0, 1), rev('c-00001', 0, 1)];
    const hosts: [string, RouteEntry][] = [
      ['a.default', route('a', ['a-00001', 50], ['a-00002', 50])],
      ['tag-a.default', route('a', ['a-00002', 100])],
      ['x.default', route('x', ['a-00002', 10], ['c-00001', 90])],
      ['b.default', route('b', ['b-00001', 100])],
    ];
    for (const key of ['default/a-00001', 'default/a-00002', 'default/c-00001']) expect(views(states, hosts, 2, key)[1]!.forwarded).toBe(true);
    expect(views(states, hosts, 2, 'default/b-00001')[1]!.forwarded).toBe(false);
    // Worker 0 never forwards.
    expect(views(states, hosts, 2, 'default/a-00001')[0]!.forwarded).toBe(false);
  });

  it('a forwarded revision waits (no endpoint) while worker 0 is not up, and keeps failing fast on a failure', () => {
    const failed = { ...rev('a-00001', 1, 0), failure: { reason: 'ExitCode1', message: 'exit 1' } };
    const map = new Map([[failed.key, failed]]);
    const v = workerRevision(failed.key, map, new Map(), { index: 1, count: 2 }, undefined)!;
    expect(v).toMatchObject({ forwarded: true, state: { endpoints: [], failure: failed.failure } });
    expect(workerRevision('default/gone', map, new Map(), { index: 1, count: 2 }, owner)).toBeUndefined();
  });
});

describe('--data-plane-processes / WISP_DATA_PLANE_PROCESSES', () => {
  it('takes 1 to 64, default absent (one process), the flag over the variable', () => {
    expect(resolveUpOptions({}, {}).dataPlaneProcesses).toBeUndefined();
    expect(resolveUpOptions({}, { WISP_DATA_PLANE_PROCESSES: '1' }).dataPlaneProcesses).toBeUndefined();
    expect(resolveUpOptions({}, { WISP_DATA_PLANE_PROCESSES: '4' }).dataPlaneProcesses).toBe(4);
    expect(resolveUpOptions({ dataPlaneProcesses: '2' }, { WISP_DATA_PLANE_PROCESSES: '4' }).dataPlaneProcesses).toBe(2);
  });

  it('refuses other values and the kubernetes runtime, naming the flag or variable', () => {
    for (const bad of ['0', '-1', '1.5', 'two', '65']) expect(() => resolveUpOptions({ dataPlaneProcesses: bad }, {})).toThrow(/--data-plane-processes/);
    expect(() => resolveUpOptions({}, { WISP_DATA_PLANE_PROCESSES: 'x' })).toThrow(/WISP_DATA_PLANE_PROCESSES/);
    expect(() => resolveUpOptions({ dataPlaneProcesses: '2', runtime: 'kubernetes' }, {})).toThrow(UsageError);
    expect(() => resolveUpOptions({ dataPlaneProcesses: '2', runtime: 'kubernetes' }, {})).toThrow(/embedded runtime only|only applies to the embedded/);
  });
});
