import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { LocalRuntime, type LogLine, type RevisionRuntimeStatus } from '../../../src/runtime/index.js';
import { ManualClock } from '../../support/clock.js';
import { freePort, waitFor } from '../../support/wait.js';
import { FIXTURES, closeRuntime, get, node, workload } from './local-helpers.js';

describe('LocalRuntime: contract, readiness, failures, logs', () => {
  let rt: LocalRuntime | undefined;
  let clock: ManualClock | typeof systemClock = systemClock;

  afterEach(async () => {
    if (rt) await closeRuntime(rt, clock);
    rt = undefined;
    clock = systemClock;
  });

  it('gives a replica PORT, K_SERVICE, K_CONFIGURATION, K_REVISION, the container env and its workingDir', async () => {
    rt = new LocalRuntime({ clock });
    const w = workload(
      { command: ['node'], args: ['functions/hello.js', 'extra-arg'], env: [{ name: 'GREETING', value: 'hi there' }], workingDir: '..' },
      { baseDir: FIXTURES },
    );
    const changes: RevisionRuntimeStatus[] = [];
    rt.onChange((key, s) => key === w.key && changes.push(s));
    rt.deploy(w);
    rt.scale(w.key, 1);
    const ep = await waitFor(() => rt?.status(w.key)?.ready[0]);
    expect(ep).toBeDefined();
    const res = await get(ep!.host, ep!.port);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { cwd: string; argv: string[]; env: Record<string, unknown> };
    expect(body.env).toEqual({
      PORT: String(ep!.port),
      K_SERVICE: w.service,
      K_CONFIGURATION: w.configuration,
      K_REVISION: w.revision,
      GREETING: 'hi there',
      HAS_PATH: true,
    });
    expect(body.argv).toEqual(['extra-arg']);
    expect(body.cwd).toBe(FIXTURES.replace(/\/functions$/, ''));
    expect(ep!.host).toBe('127.0.0.1');
    // Listeners saw desired go to 1, a starting replica, then a ready one.
    expect(changes.some((s) => s.desired === 1 && s.starting === 1 && s.ready.length === 0)).toBe(true);
    expect(changes.at(-1)).toMatchObject({ desired: 1, starting: 0, restarts: 0 });
    expect(changes.at(-1)?.failure).toBeUndefined();
  });

  it('uses an httpGet readinessProbe with path and headers: not ready on 503, ready on 200', async () => {
    rt = new LocalRuntime({ clock });
    const w = workload(node('slow-ready.js', { readinessProbe: { httpGet: { path: '/healthz', httpHeaders: [{ name: 'x-probe', value: 'wisp' }] } } }));
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => rt?.logs('default', w.service).some((l) => l.line === 'slow-ready: probe 503'));
    expect(rt.status(w.key)).toMatchObject({ ready: [], starting: 1 });
    const port = rt.inspect(w.key)[0]?.port;
    expect(port).toBeDefined();
    expect((await get('127.0.0.1', port!, '/ready', 'POST')).body).toBe('now ready');
    const ep = await waitFor(() => rt?.status(w.key)?.ready[0]);
    expect(ep?.port).toBe(port);
    expect(rt.logs('default', w.service).some((l) => l.line === 'slow-ready: probe 200')).toBe(true);
  });

  it('uses a tcpSocket readinessProbe on another port', async () => {
    rt = new LocalRuntime({ clock });
    const extra = await freePort();
    const w = workload(node('slow-ready.js', { env: [{ name: 'EXTRA_PORT', value: String(extra) }], readinessProbe: { tcpSocket: { port: extra } } }));
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => rt?.logs('default', w.service).some((l) => l.line === 'slow-ready: listening'));
    const port = rt.inspect(w.key)[0]?.port;
    // $PORT answers, but the probe port is closed: still starting.
    expect((await get('127.0.0.1', port!)).body).toBe('hello');
    expect(rt.status(w.key)).toMatchObject({ ready: [], starting: 1 });
    await get('127.0.0.1', port!, '/ready', 'POST');
    const ep = await waitFor(() => rt?.status(w.key)?.ready[0]);
    expect(ep?.port).toBe(port);
  });

  it('probes on the injected clock: a listening replica is not ready until the clock moves', async () => {
    const manual = new ManualClock();
    clock = manual;
    rt = new LocalRuntime({ clock });
    const w = workload(node('hello.js'));
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => rt?.logs('default', w.service).some((l) => l.line.startsWith('hello: listening')));
    expect(rt.status(w.key)).toMatchObject({ ready: [], starting: 1 });
    manual.advance(50);
    await waitFor(() => rt?.status(w.key)?.ready.length === 1);
  });

  it('probes 1 ms after spawn, not a whole period later (the first rung of the ladder)', async () => {
    const manual = new ManualClock();
    clock = manual;
    rt = new LocalRuntime({ clock, probeIntervalMs: 50 });
    const w = workload(node('hello.js'));
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => rt?.logs('default', w.service).some((l) => l.line.startsWith('hello: listening')));
    const ready = new Promise<number>((resolve) => rt?.onChange((key, s) => key === w.key && s.ready.length === 1 && resolve(manual.now())));
    const spawnedAt = manual.now();
    manual.advance(1);
    expect((await ready) - spawnedAt).toBe(1);
  });

  it('reports ImageNotRunnableLocally at deploy for an image-only container, and scale() does nothing', () => {
    rt = new LocalRuntime({ clock });
    const w = workload({ name: 'app', image: 'ghcr.io/acme/app:1' });
    const seen: RevisionRuntimeStatus[] = [];
    rt.onChange((_k, s) => seen.push(s));
    rt.deploy(w);
    const failure = {
      reason: 'ImageNotRunnableLocally',
      message:
        'container "app" has only an image ("ghcr.io/acme/app:1"); the local runtime runs processes: add command (and args) to run it locally, or use the Kubernetes runtime',
    };
    expect(rt.status(w.key)).toEqual({ desired: 0, ready: [], starting: 0, restarts: 0, failure });
    expect(seen).toEqual([{ desired: 0, ready: [], starting: 0, restarts: 0, failure }]);
    rt.scale(w.key, 3);
    expect(rt.status(w.key)).toEqual({ desired: 0, ready: [], starting: 0, restarts: 0, failure });
    expect(rt.inspect(w.key)).toEqual([]);
  });

  it('reports CommandRequired for args without a command', () => {
    rt = new LocalRuntime({ clock });
    const w = workload({ name: 'app', image: 'x', args: ['--port', '8080'] });
    rt.deploy(w);
    expect(rt.status(w.key)?.failure).toEqual({
      reason: 'CommandRequired',
      message: 'container "app": args are set but command is missing; the local runtime needs command (the program to run)',
    });
  });

  it('fails fast with ExitCode127 for a command that does not exist', async () => {
    rt = new LocalRuntime({ clock });
    const w = workload({ command: ['wisp-no-such-command-xyz'], args: ['a'] });
    rt.deploy(w);
    const started = Date.now();
    rt.scale(w.key, 1);
    const failure = await waitFor(() => rt?.status(w.key)?.failure, { timeoutMs: 2000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failure).toEqual({ reason: 'ExitCode127', message: 'command not found: wisp-no-such-command-xyz' });
    expect(rt.status(w.key)).toMatchObject({ ready: [], starting: 1, desired: 1 });
  });

  it('reports a missing workingDir', async () => {
    rt = new LocalRuntime({ clock });
    const w = workload(node('hello.js', { workingDir: 'does-not-exist' }));
    rt.deploy(w);
    rt.scale(w.key, 1);
    const failure = await waitFor(() => rt?.status(w.key)?.failure);
    expect(failure).toEqual({ reason: 'WorkingDirNotFound', message: `working directory does not exist: ${FIXTURES}/does-not-exist` });
  });

  it('sets failure when a replica exits before ready and clears it once a restart becomes ready', async () => {
    rt = new LocalRuntime({ clock, backoff: { initialMs: 10 } });
    const marker = `${process.env.TMPDIR ?? '/tmp'}/wisp-crash-once-${process.pid}-${Date.now()}`;
    const w = workload(node('crash-once.js', { env: [{ name: 'MARKER', value: marker }] }));
    const failures: (string | undefined)[] = [];
    rt.onChange((k, s) => k === w.key && failures.push(s.failure?.reason));
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => rt?.status(w.key)?.ready.length === 1);
    expect(failures).toContain('ExitCode1');
    expect(rt.status(w.key)?.failure).toBeUndefined();
    expect(rt.status(w.key)?.restarts).toBe(1);
    const { rm } = await import('node:fs/promises');
    await rm(marker, { force: true });
  });

  it('reports a signal death as Signal<NAME>', async () => {
    rt = new LocalRuntime({ clock });
    const w = workload({ command: [process.execPath], args: ['-e', "console.error('about to die'); process.kill(process.pid, 'SIGKILL')"] });
    rt.deploy(w);
    rt.scale(w.key, 1);
    expect(await waitFor(() => rt?.status(w.key)?.failure)).toEqual({ reason: 'SignalSIGKILL', message: 'about to die' });
  });

  it('restarts a ready replica that crashes, reporting the exit until the new one is ready', async () => {
    rt = new LocalRuntime({ clock, backoff: { initialMs: 10 } });
    const w = workload(node('hello.js'));
    const reasons: (string | undefined)[] = [];
    rt.onChange((k, s) => k === w.key && reasons.push(s.failure?.reason));
    rt.deploy(w);
    rt.scale(w.key, 1);
    const first = await waitFor(() => rt?.status(w.key)?.ready[0]);
    const pid = rt.inspect(w.key)[0]?.pid;
    process.kill(pid!, 'SIGTERM'); // hello.js exits 0 on SIGTERM: from the runtime's view, a crash
    const second = await waitFor(() => {
      const ep = rt?.status(w.key)?.ready[0];
      return ep && rt?.inspect(w.key)[0]?.pid !== pid ? ep : undefined;
    });
    expect(second.id).toBe(first.id);
    expect(rt.status(w.key)).toMatchObject({ restarts: 1, starting: 0 });
    expect(rt.status(w.key)?.failure).toBeUndefined();
    expect(reasons).toContain('ExitCode0');
  });

  it('captures stdout and stderr lines of every revision of a service and streams new ones', async () => {
    rt = new LocalRuntime({ clock, logLines: 50 });
    const a = workload(node('hello.js'), { service: `logsvc-${process.pid}`, revision: `logsvc-${process.pid}-00001` });
    const b = workload(node('hello.js'), { service: a.service, revision: `logsvc-${process.pid}-00002` });
    const other = workload(node('hello.js'));
    rt.deploy(a);
    rt.deploy(b);
    rt.deploy(other);
    rt.scale(a.key, 1);
    await waitFor(() => rt?.status(a.key)?.ready.length === 1);
    const followed: LogLine[] = [];
    const stop = rt.followLogs('default', a.service, (l) => followed.push(l));
    rt.scale(b.key, 1);
    rt.scale(other.key, 1);
    await waitFor(() => rt?.status(b.key)?.ready.length === 1 && rt.status(other.key)?.ready.length === 1);
    await waitFor(() => followed.some((l) => l.revision === b.revision && l.stream === 'stdout'));
    expect(followed.every((l) => l.revision === b.revision)).toBe(true);
    stop();

    const lines = rt.logs('default', a.service);
    const aLines = lines.filter((l) => l.revision === a.revision).map((l) => [l.stream, l.line]);
    expect(aLines).toEqual(
      expect.arrayContaining([
        ['stderr', 'hello: a line on stderr'],
        ['stdout', expect.stringMatching(/^hello: listening on \d+$/)],
      ]),
    );
    expect(lines.some((l) => l.revision === b.revision)).toBe(true);
    expect(lines.some((l) => l.revision === other.revision)).toBe(false);
    // Oldest first: everything of revision a (started first) precedes b's lines.
    const firstB = lines.findIndex((l) => l.revision === b.revision);
    expect(lines.slice(firstB).every((l) => l.revision === b.revision)).toBe(true);
    expect(lines[0]?.replica).toBe(`${a.revision}-1`);

    // After unsubscribing, SIGTERM output reaches logs() but not the listener.
    const before = followed.length;
    rt.scale(b.key, 0);
    await waitFor(() => rt?.logs('default', a.service).some((l) => l.revision === b.revision && l.line === 'hello: SIGTERM'));
    expect(followed.length).toBe(before);
  });

  it('keeps only logLines lines per revision', async () => {
    rt = new LocalRuntime({ clock, logLines: 2 });
    const w = workload({ command: [process.execPath], args: ['-e', 'for (let i = 1; i <= 5; i++) console.log("line " + i)'] });
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => rt?.status(w.key)?.failure?.reason === 'ExitCode0');
    expect(rt.logs('default', w.service).map((l) => l.line)).toEqual(['line 4', 'line 5']);
  });

  it('ignores scale() for unknown keys and deploy() of a known key', async () => {
    rt = new LocalRuntime({ clock });
    rt.scale('default/nope', 2);
    expect(rt.status('default/nope')).toBeUndefined();
    const w = workload(node('hello.js'));
    rt.deploy(w);
    rt.deploy({ ...w, container: { image: 'other' } });
    expect(rt.status(w.key)).toEqual({ desired: 0, ready: [], starting: 0, restarts: 0 });
  });
});
