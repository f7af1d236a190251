import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../../src/clock.js';
import { LocalRuntime } from '../../../src/runtime/index.js';
import { ManualClock } from '../../support/clock.js';
import { waitFor } from '../../support/wait.js';
import { alive, closeRuntime, get, node, pump, workload } from './local-helpers.js';

describe('LocalRuntime: scaling, restarts, drain, close, orphans', () => {
  const runtimes: { rt: LocalRuntime; clock: Clock }[] = [];
  const dirs: string[] = [];
  const pids = new Set<number>();

  function make(clock: Clock, opts: { stateDir?: string; backoff?: { initialMs?: number; maxMs?: number } } = {}): LocalRuntime {
    const rt = new LocalRuntime({ clock, ...opts });
    runtimes.push({ rt, clock });
    return rt;
  }
  function track(rt: LocalRuntime, key: string): number[] {
    const now = rt.inspect(key).flatMap((r) => (r.pid === undefined ? [] : [r.pid]));
    for (const p of now) pids.add(p);
    return now;
  }

  afterEach(async () => {
    for (const { rt, clock } of runtimes.splice(0)) await closeRuntime(rt, clock);
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    const left = [...pids].filter(alive);
    pids.clear();
    expect(left).toEqual([]);
  });

  it('restarts a crash loop with exponential back-off on the clock and reports ExitCode3 with stderr', async () => {
    const clock = new ManualClock();
    const rt = make(clock, { backoff: { initialMs: 100, maxMs: 300 } });
    const w = workload(node('crash.js'));
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => rt.status(w.key)?.restarts === 1);
    expect(rt.status(w.key)?.failure).toEqual({ reason: 'ExitCode3', message: 'crash: cannot open config.yaml: no such file' });
    expect(rt.status(w.key)).toMatchObject({ desired: 1, ready: [], starting: 1 });
    const t0 = clock.now();
    expect(rt.inspect(w.key)).toMatchObject([{ phase: 'backoff', restarts: 1, restartAt: t0 + 100 }]);

    clock.advance(99);
    expect(rt.inspect(w.key)[0]?.phase).toBe('backoff');
    clock.advance(1);
    await waitFor(() => rt.status(w.key)?.restarts === 2);
    expect(rt.inspect(w.key)[0]?.restartAt).toBe(t0 + 100 + 200);

    clock.advance(200);
    await waitFor(() => rt.status(w.key)?.restarts === 3);
    // Capped at maxMs.
    expect(rt.inspect(w.key)[0]?.restartAt).toBe(t0 + 300 + 300);
    const runs = rt.logs('default', w.service).filter((l) => l.line === 'crash: starting');
    expect(runs.map((l) => l.time)).toEqual([t0, t0 + 100, t0 + 300]);
  });

  it('scales up to 3 and down to 1: victims leave ready at once, get SIGTERM and exit; the oldest stays', async () => {
    const rt = make(systemClock);
    const w = workload(node('sigterm.js', { env: [{ name: 'DRAIN_MS', value: '50' }] }));
    rt.deploy(w);
    rt.scale(w.key, 3);
    expect(rt.status(w.key)).toMatchObject({ desired: 3, starting: 3 });
    await waitFor(() => rt.status(w.key)?.ready.length === 3);
    const all = track(rt, w.key);
    expect(all).toHaveLength(3);
    const ready = rt.status(w.key)?.ready ?? [];
    expect(new Set(ready.map((r) => r.port)).size).toBe(3);
    for (const ep of ready) expect((await get(ep.host, ep.port)).status).toBe(200);

    rt.scale(w.key, 1);
    expect(rt.status(w.key)).toMatchObject({ desired: 1, starting: 0 });
    expect(rt.status(w.key)?.ready.map((r) => r.id)).toEqual([`${w.revision}-1`]);
    await waitFor(() => rt.inspect(w.key).length === 1);
    const draining = rt.logs('default', w.service).filter((l) => l.line === 'sigterm: draining');
    expect(draining.map((l) => l.replica).sort()).toEqual([`${w.revision}-2`, `${w.revision}-3`]);
    expect(all.filter(alive)).toEqual([rt.inspect(w.key)[0]?.pid]);
    expect(rt.status(w.key)?.restarts).toBe(0);
    expect(rt.status(w.key)?.failure).toBeUndefined();
  });

  it('SIGKILLs a replica that ignores SIGTERM after timeoutSeconds', async () => {
    const clock = new ManualClock();
    const rt = make(clock);
    const w = workload(node('sigterm.js', { env: [{ name: 'IGNORE_SIGTERM', value: '1' }] }), { timeoutSeconds: 2 });
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => {
      pump(clock);
      return rt.status(w.key)?.ready.length === 1;
    });
    const [pid] = track(rt, w.key);
    rt.scale(w.key, 0);
    expect(rt.status(w.key)).toMatchObject({ desired: 0, ready: [], starting: 0 });
    await waitFor(() => rt.logs('default', w.service).some((l) => l.line === 'sigterm: ignoring SIGTERM'));
    clock.advance(1999);
    expect(alive(pid!)).toBe(true);
    expect(rt.inspect(w.key)[0]?.phase).toBe('draining');
    clock.advance(1);
    await waitFor(() => !alive(pid!) && rt.inspect(w.key).length === 0);
    // A drained replica is not a crash.
    expect(rt.status(w.key)).toMatchObject({ restarts: 0 });
    expect(rt.status(w.key)?.failure).toBeUndefined();
  });

  it('scale to 0 of a starting replica and remove() forget the revision', async () => {
    const rt = make(systemClock);
    const w = workload(node('hello.js'));
    rt.deploy(w);
    rt.scale(w.key, 2);
    rt.scale(w.key, 0);
    expect(rt.status(w.key)).toMatchObject({ desired: 0, starting: 0, ready: [] });
    rt.scale(w.key, 1);
    await waitFor(() => rt.status(w.key)?.ready.length === 1);
    const pidsNow = track(rt, w.key);
    await rt.remove(w.key);
    expect(rt.status(w.key)).toBeUndefined();
    expect(rt.logs('default', w.service)).toEqual([]);
    expect(pidsNow.filter(alive)).toEqual([]);
  });

  it('close() stops every replica and the children they started', async () => {
    const rt = make(systemClock);
    const a = workload(node('parent.js'));
    const b = workload(node('hello.js'));
    rt.deploy(a);
    rt.deploy(b);
    rt.scale(a.key, 2);
    rt.scale(b.key, 1);
    await waitFor(() => rt.status(a.key)?.ready.length === 2 && rt.status(b.key)?.ready.length === 1);
    const children = await waitFor(() => {
      const ls = rt.logs('default', a.service).filter((l) => l.line.startsWith('parent: child '));
      return ls.length === 2 ? ls.map((l) => Number(l.line.slice('parent: child '.length))) : undefined;
    });
    const replicas = [...track(rt, a.key), ...track(rt, b.key)];
    expect([...replicas, ...children].every(alive)).toBe(true);
    await rt.close();
    expect([...replicas, ...children].filter(alive)).toEqual([]);
    expect(() => rt.deploy(workload(node('hello.js')))).toThrow(expect.objectContaining({ code: 'WISP_ERR_RUNTIME_CLOSED' }));
  });

  it('records live replicas in stateDir and a new runtime reaps those a killed platform left behind', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'wisp-rt-'));
    dirs.push(stateDir);
    // The "killed" platform: its clock never moves, so it never restarts what the reaper kills.
    const frozen = new ManualClock();
    const old = make(frozen, { stateDir });
    const w = workload(node('parent.js'));
    old.deploy(w);
    old.scale(w.key, 2);
    await waitFor(() => {
      pump(frozen);
      return old.status(w.key)?.ready.length === 2;
    });
    const oldPids = track(old, w.key);
    const children = await waitFor(() => {
      const ls = old.logs('default', w.service).filter((l) => l.line.startsWith('parent: child '));
      return ls.length === 2 ? ls.map((l) => Number(l.line.slice('parent: child '.length))) : undefined;
    });
    const recorded = await waitFor(async () => {
      const doc = JSON.parse(await readFile(join(stateDir, 'replicas.json'), 'utf8')) as { replicas: { pid: number; startTime: string; revision: string }[] };
      return doc.replicas.length === 2 ? doc.replicas : undefined;
    });
    expect(recorded.map((r) => r.pid).sort()).toEqual([...oldPids].sort());
    expect(recorded.every((r) => r.revision === w.key && /^\d+$/.test(r.startTime))).toBe(true);
    // Each record names its owner, this process: while it lives its replicas are not orphans.
    expect(recorded.every((r) => (r as { owner?: { pid: number } }).owner?.pid === process.pid)).toBe(true);
    const kept = await LocalRuntime.create({ clock: systemClock, stateDir });
    runtimes.push({ rt: kept, clock: systemClock });
    expect([...oldPids].every((p) => alive(p))).toBe(true);

    // The platform "is killed": its records now name an owner that is gone.
    const gone = spawnSync('true').pid;
    const doc0 = JSON.parse(await readFile(join(stateDir, 'replicas.json'), 'utf8')) as { replicas: Record<string, unknown>[] };
    await writeFile(join(stateDir, 'replicas.json'), JSON.stringify({ ...doc0, replicas: doc0.replicas.map((r) => ({ ...r, owner: { pid: gone, startTime: '1' } })) }));
    const fresh = await LocalRuntime.create({ clock: systemClock, stateDir });
    runtimes.push({ rt: fresh, clock: systemClock });
    await waitFor(() => [...oldPids, ...children].every((p) => !alive(p)));
    await old.close();
    const doc = JSON.parse(await readFile(join(stateDir, 'replicas.json'), 'utf8')) as { replicas: unknown[] };
    expect(doc.replicas).toEqual([]);
  });

  it('never kills a recorded pid whose start time differs (a recycled pid)', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'wisp-rt-'));
    dirs.push(stateDir);
    const { writeFile } = await import('node:fs/promises');
    const { spawn } = await import('node:child_process');
    const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', detached: true });
    pids.add(bystander.pid!);
    try {
      await writeFile(
        join(stateDir, 'replicas.json'),
        JSON.stringify({ version: 1, replicas: [{ pid: bystander.pid, startTime: '1', revision: 'default/x-00001', replica: 'x-00001-1' }] }),
      );
      const rt = make(systemClock, { stateDir });
      expect(await rt.reapOrphans()).toEqual([]);
      expect(alive(bystander.pid!)).toBe(true);
    } finally {
      bystander.kill('SIGKILL');
      await waitFor(() => !alive(bystander.pid!));
    }
  });
});
