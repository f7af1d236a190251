import { describe, expect, it } from 'vitest';
import { ReplicaTracker } from '../../../activator/breaker.js';
import { BufferedRequest } from '../../../activator/buffered-request.js';
import { ConcurrencyAccounting } from '../../../activator/concurrency.js';
import { ERROR_CODES, InvalidTransitionError } from '../../../activator/errors.js';
import * as errors from '../../../activator/errors.js';
import { FirstAvailable, PowerOfTwoChoices, RoundRobin, pickerFor } from '../../../activator/lb-policy.js';
import { normaliseHost, pickTarget, Router, unknownHostMessage } from '../../../activator/router.js';

const trackers = (n: number, cc: number): ReplicaTracker[] =>
  Array.from({ length: n }, (_, i) => new ReplicaTracker({ id: `r${i}`, host: '127.0.0.1', port: 1000 + i }, cc));

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('replica choice', () => {
  it('first-available fills replicas in order (cc 1-3)', () => {
    const ts = trackers(3, 2);
    const p = new FirstAvailable();
    const picks: string[] = [];
    for (let i = 0; i < 6; i++) {
      const t = p.pick(ts)!;
      t.breaker.tryAcquire();
      picks.push(t.endpoint.id);
    }
    expect(picks).toEqual(['r0', 'r0', 'r1', 'r1', 'r2', 'r2']);
    expect(p.pick(ts)).toBeUndefined();
    ts[1]!.breaker.release();
    expect(p.pick(ts)?.endpoint.id).toBe('r1');
  });

  it('round robin rotates and skips full replicas (cc > 3)', () => {
    const ts = trackers(3, 4);
    const p = new RoundRobin();
    expect([p.pick(ts), p.pick(ts), p.pick(ts), p.pick(ts)].map((t) => t?.endpoint.id)).toEqual(['r0', 'r1', 'r2', 'r0']);
    for (let i = 0; i < 4; i++) ts[1]!.breaker.tryAcquire();
    expect([p.pick(ts), p.pick(ts), p.pick(ts)].map((t) => t?.endpoint.id)).toEqual(['r2', 'r0', 'r2']);
    for (const t of ts) while (t.breaker.tryAcquire());
    expect(p.pick(ts)).toBeUndefined();
  });

  it('power of two choices takes the less loaded of two distinct random replicas (cc 0)', () => {
    const ts = trackers(4, 0);
    ts[0]!.breaker.tryAcquire();
    ts[0]!.breaker.tryAcquire();
    // random 0.0 → index 0, then 0.0 over n-1 → 0, bumped to 1: compares r0 (2 in flight) and r1 (0)
    const seq = [0, 0];
    const p = new PowerOfTwoChoices(() => seq.shift() ?? 0);
    expect(p.pick(ts)?.endpoint.id).toBe('r1');
    const rnd = seeded(7);
    const p2 = new PowerOfTwoChoices(rnd);
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const t = p2.pick(ts)!;
      t.breaker.tryAcquire();
      counts.set(t.endpoint.id, (counts.get(t.endpoint.id) ?? 0) + 1);
    }
    const loads = ts.map((t) => t.breaker.inFlight);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(3);
    expect(ts.every((t) => t.breaker.capacity === 0 && t.breaker.hasCapacity())).toBe(true);
  });

  it('picks the policy by containerConcurrency as Knative does', () => {
    expect(pickerFor(0, Math.random)).toBeInstanceOf(PowerOfTwoChoices);
    expect(pickerFor(1, Math.random)).toBeInstanceOf(FirstAvailable);
    expect(pickerFor(3, Math.random)).toBeInstanceOf(FirstAvailable);
    expect(pickerFor(4, Math.random)).toBeInstanceOf(RoundRobin);
  });
});

describe('buffered request state machine', () => {
  it('allows queued → dispatched → done and refuses the rest', () => {
    const br = new BufferedRequest(async () => 1, () => {}, () => {}, 0, false, undefined);
    expect(br.state).toBe('queued');
    expect(() => br.transition('done')).toThrow(InvalidTransitionError);
    br.transition('dispatched');
    br.transition('done');
    expect(() => br.transition('rejected')).toThrow('buffered request cannot move from done to rejected');
    const q = new BufferedRequest(async () => 1, () => {}, () => {}, 0, false, undefined);
    q.transition('rejected');
    expect(() => q.transition('dispatched')).toThrow(InvalidTransitionError);
  });
});

describe('time-weighted concurrency', () => {
  it('2 requests of 500 ms in 1 s average 1.0, then a final 0, then nothing', () => {
    const acc = new ConcurrencyAccounting(0);
    acc.arrive('ns/a', 0);
    acc.arrive('ns/a', 500);
    acc.depart('ns/a', 500);
    acc.depart('ns/a', 1000);
    expect(acc.collect(1000)).toEqual([{ key: 'ns/a', concurrency: 1 }]);
    expect(acc.collect(2000)).toEqual([{ key: 'ns/a', concurrency: 0 }]);
    expect(acc.collect(3000)).toEqual([]);
  });

  it('counts a request spanning intervals in each of them and weights late arrivals by time', () => {
    const acc = new ConcurrencyAccounting(0);
    acc.arrive('ns/a', 250);
    expect(acc.current('ns/a')).toBe(1);
    expect(acc.collect(1000)).toEqual([{ key: 'ns/a', concurrency: 0.75 }]);
    acc.arrive('ns/b', 1500);
    expect(acc.collect(2000)).toEqual([
      { key: 'ns/a', concurrency: 1 },
      { key: 'ns/b', concurrency: 0.5 },
    ]);
    acc.depart('ns/a', 2100);
    acc.depart('ns/b', 2100);
    const third = acc.collect(3000);
    expect(third.find((s) => s.key === 'ns/a')?.concurrency).toBeCloseTo(0.1);
    expect(acc.current('ns/a')).toBe(0);
  });
});

describe('router', () => {
  const entry = { namespace: 'default', service: 'hello', targets: [{ revision: 'default/hello-00001', percent: 100 }] };
  it('strips port and case', () => {
    expect(normaliseHost('Hello.Default.LOCALHOST:8080')).toBe('hello.default.localhost');
    expect(normaliseHost('[::1]:80')).toBe('[::1]');
    expect(normaliseHost('')).toBeUndefined();
    expect(normaliseHost('a b')).toBeUndefined();
    const r = new Router();
    r.setSnapshot({ hosts: new Map([['hello.default.localhost', entry]]) });
    expect(r.resolve('HELLO.default.localhost:8080')).toBe(entry);
    expect(r.resolve('nope.default.localhost')).toBeUndefined();
    expect(r.resolve(undefined)).toBeUndefined();
  });

  it('splits by percent with the injected random source', () => {
    const split = { namespace: 'default', service: 'hello', targets: [{ revision: 'a', percent: 80 }, { revision: 'b', percent: 20 }, { revision: 'c', percent: 0 }] };
    expect(pickTarget(split, () => 0.79)).toBe('a');
    expect(pickTarget(split, () => 0.81)).toBe('b');
    expect(pickTarget(split, () => 0.999999)).toBe('b');
    const rnd = seeded(42);
    let a = 0;
    for (let i = 0; i < 10_000; i++) if (pickTarget(split, rnd) === 'a') a++;
    expect(a / 10_000).toBeGreaterThan(0.77);
    expect(a / 10_000).toBeLessThan(0.83);
    expect(pickTarget({ ...split, targets: [{ revision: 'x', percent: 0 }] }, rnd)).toBeUndefined();
  });

  it('routes a path-addressed request (/<namespace>/<service>/...) with the prefix stripped', () => {
    const r = new Router();
    const tagged = { ...entry, targets: [{ revision: 'default/hello-00002', percent: 100 }] };
    r.setSnapshot({ hosts: new Map([['hello.default', entry], ['hello.default.localhost', entry], ['canary-hello.default', tagged]]) });
    expect(r.resolvePath('/default/hello')).toEqual({ entry, path: '/', prefix: '/default/hello' });
    expect(r.resolvePath('/default/hello/')).toEqual({ entry, path: '/', prefix: '/default/hello' });
    expect(r.resolvePath('/default/hello/a/b?x=1')).toEqual({ entry, path: '/a/b?x=1', prefix: '/default/hello' });
    expect(r.resolvePath('/default/hello?x=1')).toEqual({ entry, path: '/?x=1', prefix: '/default/hello' });
    expect(r.resolvePath('/Default/Hello/x')?.entry).toBe(entry);
    expect(r.resolvePath('/default/canary-hello/x')?.entry).toBe(tagged);
    expect(r.resolvePath('/default/hellox')).toBeUndefined();
    expect(r.resolvePath('/other/hello')).toBeUndefined();
    expect(r.resolvePath('/default')).toBeUndefined();
    expect(r.resolvePath('/')).toBeUndefined();
    expect(r.resolvePath('*')).toBeUndefined();
  });

  it('names the host and the host form in the 404 message', () => {
    const m = unknownHostMessage('nope.default.localhost');
    expect(m).toContain('no Service found for host "nope.default.localhost"');
    expect(m).toContain('<service>.<namespace>.localhost');
    expect(m).toContain('/<namespace>/<service>/');
  });
});

describe('errors', () => {
  it('documents every code and carries status and retriable', () => {
    const samples: errors.ActivatorError[] = [
      new errors.QueueFullError('d/a', 1),
      new errors.QueueTimeoutError('d/a', 1),
      new errors.ResponseTimeoutError('d/a', 1),
      new errors.RevisionFailedError('d/a', 'R', 'm'),
      new errors.RevisionRemovedError('d/a'),
      new errors.UpstreamError('d/a', 'r', { cause: new Error('x') }),
      new errors.RequestAbortedError('d/a'),
      new errors.InvalidTransitionError('done', 'queued'),
      new errors.ShuttingDownError(),
    ];
    expect(new Set(samples.map((e) => e.code))).toEqual(new Set(Object.keys(ERROR_CODES)));
    const full = new errors.QueueFullError('default/a', 3);
    expect([full.code, full.statusCode, full.retriable]).toEqual(['WISP_ERR_QUEUE_FULL', 503, true]);
    for (const code of Object.keys(ERROR_CODES)) expect(ERROR_CODES[code as keyof typeof ERROR_CODES].length).toBeGreaterThan(10);
    expect(new errors.RevisionFailedError('default/hello-00001', 'ExitCode1', 'boom').message).toBe('revision default/hello-00001 cannot start: ExitCode1: boom');
  });
});
