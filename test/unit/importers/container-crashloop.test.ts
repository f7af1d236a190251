import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { Condition, KObject } from '../../../src/api/types.js';
import { Store } from '../../../src/control/store.js';
import { ContainerSourcesReconciler } from '../../../src/importers/container/index.js';
import { LocalRuntime } from '../../../src/runtime/index.js';
import { ManualClock } from '../../support/clock.js';
import { waitFor } from '../../support/wait.js';

const CONTAINERSOURCES = kindByName('containersources') as KindInfo;

/** Exits 3 (with a line on stderr) while `fail` exists next to it; otherwise lives until SIGTERM. */
const SCRIPT = `
import { existsSync } from 'node:fs';
if (existsSync('fail')) { console.error('no config yet'); process.exit(3); }
const keep = setInterval(() => undefined, 1000);
process.once('SIGTERM', () => clearInterval(keep));
console.log('up');
`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ContainerSource status while its process crash-loops (ManualClock drives the back-off)', () => {
  let dir: string;
  let clock: ManualClock;
  let store: Store;
  let runtime: LocalRuntime;
  let reconciler: ContainerSourcesReconciler;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-crashloop-'));
    await writeFile(join(dir, 'source.mjs'), SCRIPT);
    await writeFile(join(dir, 'fail'), '');
    clock = new ManualClock();
    store = await Store.open({ clock });
    runtime = new LocalRuntime({ clock, backoff: { initialMs: 100, maxMs: 400 } });
    reconciler = new ContainerSourcesReconciler({ store, clock, runtime, defaultBaseDir: dir });
    reconciler.start();
  });

  afterEach(async () => {
    reconciler.stop();
    // Drain timers (SIGKILL after the grace period) run on the manual clock: move it on until the runtime is closed.
    let closed = false;
    const closing = runtime.close().then(() => (closed = true));
    while (!closed) {
      clock.advance(1000);
      await new Promise((r) => setTimeout(r, 10));
    }
    await closing;
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const deployed = (): Condition | undefined =>
    ((store.get(CONTAINERSOURCES, 'default', 'hb')?.status ?? {}) as { conditions?: Condition[] }).conditions?.find((c) => c.type === 'Deployed');
  const ready = (): Condition | undefined =>
    ((store.get(CONTAINERSOURCES, 'default', 'hb')?.status ?? {}) as { conditions?: Condition[] }).conditions?.find((c) => c.type === 'Ready');

  it('shows Deployed False ExitCode3 with stderr and the restart count, restarts on the back-off schedule, then True', async () => {
    store.create({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'ContainerSource',
      metadata: { name: 'hb', namespace: 'default' },
      spec: {
        template: { spec: { containers: [{ name: 'hb', command: [process.execPath, 'source.mjs'] }] } },
        sink: { uri: 'http://127.0.0.1:9/' },
      },
    } as KObject);
    await waitFor(() => deployed()?.reason === 'ExitCode3', { what: 'ExitCode3' });
    expect(deployed()).toMatchObject({ status: 'False', message: 'no config yet (restarted 1 time, with back-off)' });
    expect(ready()).toMatchObject({ status: 'False', reason: 'ExitCode3' });
    const key = reconciler.runner('default/hb')?.workloadKey ?? '';
    const t0 = clock.now();
    expect(runtime.inspect(key)).toMatchObject([{ phase: 'backoff', restarts: 1, restartAt: t0 + 100 }]);

    clock.advance(99);
    expect(runtime.inspect(key)[0]?.phase).toBe('backoff');
    clock.advance(1);
    await waitFor(() => deployed()?.message === 'no config yet (restarted 2 times, with back-off)', { what: 'second crash' });
    expect(runtime.inspect(key)).toMatchObject([{ phase: 'backoff', restarts: 2, restartAt: t0 + 100 + 200 }]);

    clock.advance(200);
    await waitFor(() => deployed()?.message === 'no config yet (restarted 3 times, with back-off)', { what: 'third crash' });
    // Capped at maxMs.
    expect(runtime.inspect(key)[0]?.restartAt).toBe(t0 + 300 + 400);

    await rm(join(dir, 'fail'));
    clock.advance(400);
    await waitFor(() => ready()?.status === 'True', { what: 'Ready once it stays up' });
    expect(deployed()).toMatchObject({ status: 'True' });
    const pid = reconciler.runner('default/hb')?.pid ?? 0;
    expect(isAlive(pid)).toBe(true);

    store.delete(CONTAINERSOURCES, 'default', 'hb');
    await waitFor(() => !isAlive(pid), { what: `pid ${pid} gone` });
  });
});
