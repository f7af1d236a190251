import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { Condition, KObject } from '../../../src/api/types.js';
import { systemClock } from '../../../src/clock.js';
import { Store } from '../../../src/control/store.js';
import { ContainerSourcesReconciler } from '../../../src/importers/container/index.js';
import { LocalRuntime } from '../../../src/runtime/index.js';
import { waitFor } from '../../support/wait.js';
import { alive } from './local-helpers.js';

const CONTAINERSOURCES = kindByName('containersources') as KindInfo;
const BROKERS = kindByName('brokers') as KindInfo;

/**
 * Prints its env as JSON, then lives until SIGTERM (logs it; the handler is in place before the env line, so a test
 * that reacts to that line cannot race it); exits 3 at once while `fail` exists in its folder.
 */
const SCRIPT = `
import { existsSync } from 'node:fs';
if (existsSync('fail')) { console.error('cannot start: fail flag present'); process.exit(3); }
const keep = setInterval(() => undefined, 1000);
process.once('SIGTERM', () => {
  console.log('got SIGTERM');
  if (process.env.IGNORE_SIGTERM) return;
  clearInterval(keep);
});
const { K_SINK, K_CE_OVERRIDES, PORT, K_SERVICE, PERIOD_MS } = process.env;
console.log(JSON.stringify({ K_SINK, K_CE_OVERRIDES, PORT, K_SERVICE, PERIOD_MS, pid: process.pid }));
`;

interface Status {
  sinkUri?: string;
  conditions?: Condition[];
}

describe('ContainerSource on the local runtime (real processes)', () => {
  let dir: string;
  let store: Store;
  let runtime: LocalRuntime;
  let reconciler: ContainerSourcesReconciler;
  let lines: { key: string; stream: string; line: string }[];
  let errors: string[];
  const pids = new Set<number>();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-containersource-'));
    await writeFile(join(dir, 'source.mjs'), SCRIPT);
    store = await Store.open({ clock: systemClock });
    runtime = new LocalRuntime({ clock: systemClock, stateDir: join(dir, 'state'), backoff: { initialMs: 50, maxMs: 400 } });
    lines = [];
    errors = [];
    reconciler = new ContainerSourcesReconciler({
      store,
      clock: systemClock,
      runtime,
      defaultBaseDir: dir,
      onLog: (key, stream, line) => lines.push({ key, stream, line }),
      onError: (what, err) => errors.push(`${what}: ${String(err)}`),
    });
    reconciler.start();
  });

  afterEach(async () => {
    reconciler.stop();
    await runtime.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
    const left = [...pids].filter(alive);
    pids.clear();
    expect(left).toEqual([]);
    expect(errors).toEqual([]);
  });

  function apply(spec: Record<string, unknown>, container: Record<string, unknown> = {}): void {
    store.apply({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'ContainerSource',
      metadata: { name: 'hb', namespace: 'default' },
      spec: {
        template: { spec: { terminationGracePeriodSeconds: 3, containers: [{ name: 'hb', command: [process.execPath, 'source.mjs'], env: [{ name: 'PERIOD_MS', value: '10' }], ...container }] } },
        ...spec,
      },
    } as KObject);
  }
  const status = (): Status => (store.get(CONTAINERSOURCES, 'default', 'hb')?.status ?? {}) as Status;
  const cond = (type: string): Condition | undefined => status().conditions?.find((c) => c.type === type);
  const envLines = (): Record<string, unknown>[] => lines.filter((l) => l.line.startsWith('{')).map((l) => JSON.parse(l.line) as Record<string, unknown>);
  function pid(): number {
    const p = reconciler.runner('default/hb')?.pid;
    if (p === undefined) throw new Error('no process');
    pids.add(p);
    return p;
  }

  it('runs the container with K_SINK and K_CE_OVERRIDES, no $PORT; Ready once spawned; delete sends SIGTERM and the pid is gone', async () => {
    apply({ sink: { uri: 'http://127.0.0.1:9/a' }, ceOverrides: { extensions: { origin: 'hb' } } });
    await waitFor(() => cond('Ready')?.status === 'True', { what: 'Ready True' });
    expect(cond('Deployed')).toMatchObject({ status: 'True' });
    expect(cond('SinkProvided')).toMatchObject({ status: 'True' });
    expect(status().sinkUri).toBe('http://127.0.0.1:9/a');
    await waitFor(() => envLines().length === 1, { what: 'the env line' });
    const p = pid();
    expect(envLines()[0]).toEqual({ K_SINK: 'http://127.0.0.1:9/a', K_CE_OVERRIDES: '{"extensions":{"origin":"hb"}}', PERIOD_MS: '10', pid: p });
    expect(lines[0]?.key).toBe('default/hb');
    expect(alive(p)).toBe(true);

    store.delete(CONTAINERSOURCES, 'default', 'hb');
    await waitFor(() => !alive(p), { what: `pid ${p} gone` });
    await waitFor(() => lines.some((l) => l.line === 'got SIGTERM'), { what: 'SIGTERM logged' });
    expect(reconciler.running()).toEqual([]);
  });

  it('a process that exits is restarted with back-off, Deployed False ExitCode3 meanwhile; True once it stays up', async () => {
    await writeFile(join(dir, 'fail'), '');
    apply({ sink: { uri: 'http://127.0.0.1:9/a' } });
    await waitFor(() => cond('Deployed')?.reason === 'ExitCode3', { what: 'Deployed ExitCode3' });
    expect(cond('Deployed')).toMatchObject({ status: 'False', message: expect.stringContaining('cannot start: fail flag present') });
    expect(cond('Ready')).toMatchObject({ status: 'False', reason: 'ExitCode3' });
    const key = reconciler.runner('default/hb')?.workloadKey ?? '';
    await waitFor(() => (runtime.status(key)?.restarts ?? 0) >= 3, { what: '3 restarts' });
    await waitFor(() => /restarted [3-9] times/.test(cond('Deployed')?.message ?? ''), { what: 'restarts in the message' });
    expect(lines.filter((l) => l.stream === 'stderr' && l.line === 'cannot start: fail flag present').length).toBeGreaterThanOrEqual(3);

    await rm(join(dir, 'fail'));
    await waitFor(() => cond('Ready')?.status === 'True', { timeoutMs: 5000, what: 'Ready True after the fix' });
    expect(alive(pid())).toBe(true);
  });

  it('a sink change restarts the process with the new K_SINK; the old one is stopped', async () => {
    store.create({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'default' } });
    apply({ sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } } });
    await waitFor(() => cond('SinkProvided')?.status === 'False', { what: 'SinkProvided False' });
    expect(cond('Deployed')).toMatchObject({ status: 'Unknown', reason: 'SinkNotResolved' });
    expect(reconciler.running()).toEqual([]);

    store.updateStatus(BROKERS, 'default', 'default', { address: { url: 'http://127.0.0.1:9/default/default' }, conditions: [{ type: 'Ready', status: 'True' }] });
    await waitFor(() => envLines().length === 1, { what: 'first process' });
    const first = pid();
    expect(envLines()[0]?.K_SINK).toBe('http://127.0.0.1:9/default/default');

    apply({ sink: { uri: 'http://127.0.0.1:9/elsewhere' } });
    await waitFor(() => envLines().length === 2, { what: 'second process' });
    expect(envLines()[1]?.K_SINK).toBe('http://127.0.0.1:9/elsewhere');
    const second = pid();
    expect(second).not.toBe(first);
    await waitFor(() => !alive(first), { what: 'first process gone' });
    expect(alive(second)).toBe(true);
    await waitFor(() => status().sinkUri === 'http://127.0.0.1:9/elsewhere' && cond('Ready')?.status === 'True', { what: 'status follows' });
  });

  it('a process that ignores SIGTERM is killed after terminationGracePeriodSeconds; shutdown leaves nothing behind', async () => {
    apply({ sink: { uri: 'http://127.0.0.1:9/a' } }, { env: [{ name: 'IGNORE_SIGTERM', value: '1' }] });
    await waitFor(() => envLines().length === 1, { what: 'the process' });
    const p = pid();
    store.apply({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'ContainerSource',
      metadata: { name: 'hb', namespace: 'default' },
      spec: {
        template: { spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'hb', command: [process.execPath, 'source.mjs'], env: [{ name: 'IGNORE_SIGTERM', value: '1' }] }] } },
        sink: { uri: 'http://127.0.0.1:9/a' },
      },
    } as KObject);
    await waitFor(() => envLines().length === 2, { what: 'the replacement' });
    const q = pid();
    // The first one has a 3 s grace: it still runs after SIGTERM.
    await waitFor(() => lines.filter((l) => l.line === 'got SIGTERM').length === 1, { what: 'SIGTERM to the first' });
    expect(alive(p)).toBe(true);
    const t0 = Date.now();
    store.delete(CONTAINERSOURCES, 'default', 'hb');
    await waitFor(() => !alive(q), { timeoutMs: 5000, what: 'SIGKILL after 1 s' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    // Platform shutdown: stop the reconciler, close the runtime; the 3 s-grace process is killed when its grace ends.
    reconciler.stop();
    await runtime.close();
    expect(alive(p)).toBe(false);
  }, 20_000);
});
