import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { LocalRuntime } from '../../../src/runtime/index.js';
import type { RevisionRuntimeStatus } from '../../../src/runtime/types.js';
import { waitFor } from '../../support/wait.js';
import { alive, closeRuntime, workload } from './local-helpers.js';

/** Prints the variables of interest, then lives until SIGTERM; exits 5 when EXIT_NOW is set. */
const SCRIPT = `
const keep = setInterval(() => undefined, 1000);
process.once('SIGTERM', () => clearInterval(keep));
const { PORT, K_SERVICE, K_REVISION, K_SINK, MINE } = process.env;
console.log(JSON.stringify({ PORT, K_SERVICE, K_REVISION, K_SINK, MINE }));
if (process.env.EXIT_NOW) { console.error('exiting on purpose'); process.exit(5); }
`;

describe('LocalRuntime: a workload that does not listen (listens: false) and extra env', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(): Promise<{ rt: LocalRuntime; dir: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'wisp-nolisten-'));
    await writeFile(join(dir, 'w.mjs'), SCRIPT);
    const rt = new LocalRuntime({ clock: systemClock, backoff: { initialMs: 20, maxMs: 100 } });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    cleanups.push(() => closeRuntime(rt, systemClock));
    return { rt, dir };
  }

  it('runs once spawned (status.running, no endpoint, no probe), gets no $PORT or K_*, and workload env wins over the container env', async () => {
    const { rt, dir } = await setup();
    const w = workload(
      { command: [process.execPath, 'w.mjs'], env: [{ name: 'MINE', value: 'container' }, { name: 'K_SINK', value: 'container' }] },
      { baseDir: dir, listens: false, env: { K_SINK: 'http://sink/', MINE: 'workload' } },
    );
    const seen: RevisionRuntimeStatus[] = [];
    const unsubscribe = rt.onChange((k, s) => {
      if (k === w.key) seen.push(s);
    });
    cleanups.push(async () => unsubscribe());
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => rt.status(w.key)?.running === 1, { what: 'running' });
    expect(rt.status(w.key)).toEqual({ desired: 1, ready: [], starting: 0, restarts: 0, running: 1 });
    const [info] = rt.inspect(w.key);
    expect(info).toMatchObject({ phase: 'ready' });
    expect(info?.port).toBeUndefined();
    const pid = info?.pid ?? 0;
    expect(alive(pid)).toBe(true);
    await waitFor(() => rt.logs('default', w.service).length === 1, { what: 'the env line' });
    expect(JSON.parse(rt.logs('default', w.service)[0]?.line ?? '{}')).toEqual({ K_SINK: 'http://sink/', MINE: 'workload' });
    expect(seen.at(-1)).toMatchObject({ running: 1 });

    await rt.remove(w.key);
    expect(alive(pid)).toBe(false);
  });

  it('an exit moves it to back-off with the ExitCode failure and running 0, like a replica', async () => {
    const { rt, dir } = await setup();
    const w = workload({ command: [process.execPath, 'w.mjs'], env: [{ name: 'EXIT_NOW', value: '1' }] }, { baseDir: dir, listens: false });
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => (rt.status(w.key)?.restarts ?? 0) >= 2, { what: 'two restarts' });
    expect(rt.status(w.key)).toMatchObject({ desired: 1, ready: [], failure: { reason: 'ExitCode5', message: 'exiting on purpose' } });
    await waitFor(() => rt.status(w.key)?.running === 0 && rt.inspect(w.key)[0]?.phase === 'backoff', { what: 'in back-off' });
  });

  it('a listening workload keeps its status shape (no running field)', async () => {
    const { rt, dir } = await setup();
    const w = workload({ image: 'only-an-image' }, { baseDir: dir });
    rt.deploy(w);
    expect(rt.status(w.key)).not.toHaveProperty('running');
  });
});
