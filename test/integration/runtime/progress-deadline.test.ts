import { afterEach, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../../src/runtime/index.js';
import { groupListeningPorts } from '../../../src/runtime/local/listening.js';
import { ManualClock } from '../../support/clock.js';
import { freePort, waitFor } from '../../support/wait.js';
import { closeRuntime, get, node, workload } from './local-helpers.js';

describe('LocalRuntime: progress deadline (ManualClock, real processes)', () => {
  let rt: LocalRuntime | undefined;
  const clock = new ManualClock();

  afterEach(async () => {
    if (rt) await closeRuntime(rt, clock);
    rt = undefined;
  });

  it('fails a replica alive but not listening on $PORT at the deadline, naming the port it listens on', async () => {
    rt = new LocalRuntime({ clock });
    const fixed = await freePort();
    const w = workload(node('fixed-port.js', { env: [{ name: 'FIXED_PORT', value: String(fixed) }] }), { progressDeadlineSeconds: 5 });
    rt.deploy(w);
    rt.scale(w.key, 1);
    // The process really listens on its fixed port (not $PORT).
    await waitFor(async () => (await get('127.0.0.1', fixed).catch(() => undefined))?.status === 200, { what: 'fixed port answers' });
    const [info] = rt.inspect(w.key);
    expect(info?.phase).toBe('starting');
    expect(await groupListeningPorts(info!.pid!)).toEqual([fixed]);

    // Just before the deadline: still starting, no failure.
    clock.advance(4_900);
    await new Promise((r) => setTimeout(r, 50));
    expect(rt.status(w.key)?.failure).toBeUndefined();

    clock.advance(200);
    const failure = await waitFor(() => rt?.status(w.key)?.failure, { what: 'ProgressDeadlineExceeded' });
    expect(failure.reason).toBe('ProgressDeadlineExceeded');
    expect(failure.message).toContain(`listening on ${fixed}; listen on $PORT (${info!.port})`);
    expect(failure.message).toContain('progress deadline (5s');
    // The process keeps running (and probing): only the revision's status says it cannot start.
    expect(rt.inspect(w.key)[0]).toMatchObject({ phase: 'starting', pid: info!.pid });
  });

  it('counts from the end of a readinessProbe\'s initialDelaySeconds', async () => {
    rt = new LocalRuntime({ clock });
    const fixed = await freePort();
    const w = workload(node('fixed-port.js', { env: [{ name: 'FIXED_PORT', value: String(fixed) }], readinessProbe: { initialDelaySeconds: 3 } }), {
      progressDeadlineSeconds: 1,
    });
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(async () => (await get('127.0.0.1', fixed).catch(() => undefined))?.status === 200, { what: 'fixed port answers' });
    clock.advance(3_900);
    await new Promise((r) => setTimeout(r, 50));
    expect(rt.status(w.key)?.failure).toBeUndefined();
    clock.advance(200);
    const failure = await waitFor(() => rt?.status(w.key)?.failure, { what: 'ProgressDeadlineExceeded' });
    expect(failure.message).toContain(`listening on ${fixed}; listen on $PORT`);
  });

  it('does not fire for a replica that became ready in time, and clears once a late one gets ready', async () => {
    rt = new LocalRuntime({ clock });
    const w = workload(node('hello.js'), { progressDeadlineSeconds: 5 });
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(async () => {
      clock.advance(50);
      await new Promise((r) => setTimeout(r, 10));
      return rt!.status(w.key)!.ready.length === 1;
    }, { what: 'hello ready' });
    clock.advance(10_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(rt.status(w.key)?.failure).toBeUndefined();

    // A slow start: past the deadline the revision fails, then the probe passes and the failure is gone.
    const slow = workload(node('slow-ready.js', { readinessProbe: { httpGet: { path: '/healthz', httpHeaders: [{ name: 'x-probe', value: 'wisp' }] } } }), { progressDeadlineSeconds: 1 });
    rt.deploy(slow);
    rt.scale(slow.key, 1);
    const port = await waitFor(() => (rt!.inspect(slow.key)[0]?.phase === 'starting' ? rt!.inspect(slow.key)[0]?.port : undefined));
    await waitFor(() => rt!.logs('default', slow.service).some((l) => l.line === 'slow-ready: listening'), { what: 'slow-ready listening' });
    clock.advance(1_000);
    const failure = await waitFor(() => rt?.status(slow.key)?.failure, { what: 'slow-ready past its deadline' });
    expect(failure.message).toContain(`listens on $PORT but its readiness probe has not passed`);
    await waitFor(async () => (await get('127.0.0.1', port, '/ready', 'POST').catch(() => undefined))?.status === 200, { what: 'made ready' });
    await waitFor(async () => {
      clock.advance(50);
      await new Promise((r) => setTimeout(r, 10));
      return rt!.status(slow.key)!.ready.length === 1;
    }, { what: 'slow-ready ready' });
    expect(rt.status(slow.key)?.failure).toBeUndefined();
  });
});
