import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { onExit, restartDelay } from '../../../src/runtime/local/backoff.js';
import { ERROR_CODES, ImageNotRunnableLocallyError, InvalidReplicaTransitionError } from '../../../src/runtime/local/errors.js';
import { failureFor, tail } from '../../../src/runtime/local/failure.js';
import { LineSplitter, LogStore, Ring } from '../../../src/runtime/local/logs.js';
import { probeTarget, probeTimeoutMs } from '../../../src/runtime/local/probe.js';
import { parseStatStartTime } from '../../../src/runtime/local/proc.js';
import { assertTransition, canTransition, pickVictims } from '../../../src/runtime/local/replica-state.js';
import { checkRunnable, planSpawn } from '../../../src/runtime/local/spawn-plan.js';
import { parseState } from '../../../src/runtime/local/state-file.js';
import type { RevisionWorkload } from '../../../src/runtime/types.js';

const cfg = { initialMs: 100, maxMs: 1000, resetAfterMs: 5000 };

describe('back-off', () => {
  it('doubles from initialMs up to maxMs', () => {
    let state = { attempt: 0 };
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = onExit(cfg, state, 0, undefined);
      delays.push(r.delayMs);
      state = r.next;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(restartDelay(cfg, { attempt: 5000 })).toBe(1000);
  });

  it('resets after the replica stayed ready for resetAfterMs, not before', () => {
    expect(onExit(cfg, { attempt: 4 }, 10_000, 5_001).delayMs).toBe(1000);
    expect(onExit(cfg, { attempt: 4 }, 10_000, 5_000)).toEqual({ delayMs: 100, next: { attempt: 1 } });
  });
});

describe('failureFor', () => {
  it('maps exits, signals and spawn errors to reasons', () => {
    expect(failureFor({ kind: 'exit', code: 3 }, 'node', ['a', 'boom'])).toEqual({ reason: 'ExitCode3', message: 'a\nboom' });
    expect(failureFor({ kind: 'exit', code: 1 }, 'node', [])).toEqual({ reason: 'ExitCode1', message: 'node exited with code 1' });
    expect(failureFor({ kind: 'signal', signal: 'SIGSEGV' }, 'srv', [])).toEqual({ reason: 'SignalSIGSEGV', message: 'srv was killed by SIGSEGV' });
    expect(failureFor({ kind: 'spawn-error', errno: 'ENOENT', message: 'x' }, 'nope', ['ignored'])).toEqual({ reason: 'ExitCode127', message: 'command not found: nope' });
    expect(failureFor({ kind: 'spawn-error', errno: 'EACCES', message: 'x' }, './a.sh', [])).toEqual({ reason: 'ExitCode126', message: 'permission denied: ./a.sh' });
    expect(failureFor({ kind: 'missing-cwd', cwd: '/x' }, 'a', []).reason).toBe('WorkingDirNotFound');
  });

  it('keeps the last ~1 KiB of stderr, cut at a line start', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${'x'.repeat(20)}`);
    const msg = failureFor({ kind: 'exit', code: 2 }, 'n', lines).message;
    expect(msg.length).toBeLessThanOrEqual(1024);
    expect(msg.endsWith(lines[99]!)).toBe(true);
    expect(msg.startsWith('line ')).toBe(true);
    expect(tail('  short  ')).toBe('short');
  });
});

describe('replica lifecycle', () => {
  it('allows the documented transitions and rejects others', () => {
    expect(canTransition('pending', 'starting')).toBe(true);
    expect(canTransition('ready', 'draining')).toBe(true);
    expect(canTransition('backoff', 'pending')).toBe(true);
    expect(canTransition('stopped', 'pending')).toBe(false);
    expect(canTransition('draining', 'ready')).toBe(false);
    expect(() => assertTransition('r-1', 'ready', 'starting')).toThrow(InvalidReplicaTransitionError);
    expect(() => assertTransition('r-1', 'ready', 'starting')).toThrow('replica r-1: invalid transition ready -> starting');
  });

  it('picks starting replicas first, then the newest ready ones', () => {
    const rs = [
      { id: 'a', seq: 1, phase: 'ready' as const },
      { id: 'b', seq: 2, phase: 'ready' as const },
      { id: 'c', seq: 3, phase: 'starting' as const },
      { id: 'd', seq: 4, phase: 'backoff' as const },
      { id: 'e', seq: 5, phase: 'draining' as const },
    ];
    expect(pickVictims(rs, 3).map((r) => r.id)).toEqual(['d', 'c', 'b']);
    expect(pickVictims(rs, 10).map((r) => r.id)).toEqual(['d', 'c', 'b', 'a']);
    expect(pickVictims(rs, 0)).toEqual([]);
  });
});

function wl(container: RevisionWorkload['container']): RevisionWorkload {
  return { key: 'ns/s-00001', namespace: 'ns', service: 's', configuration: 's', revision: 's-00001', container, baseDir: '/srv/app', timeoutSeconds: 30 };
}

describe('spawn plan', () => {
  it('builds the Knative environment over the parent one, container env last', () => {
    const plan = planSpawn(
      wl({ command: ['node', 'a.js'], args: ['--x'], env: [{ name: 'PORT', value: 'no' }, { name: 'E', value: '1' }, { name: 'EMPTY' }], workingDir: 'sub' }),
      4321,
      { PATH: '/bin', HOME: '/h', K_SERVICE: 'stale', UNDEF: undefined },
    );
    expect(plan).toEqual({
      file: 'node',
      args: ['a.js', '--x'],
      cwd: '/srv/app/sub',
      env: { PATH: '/bin', HOME: '/h', PORT: 'no', K_SERVICE: 's', K_CONFIGURATION: 's', K_REVISION: 's-00001', E: '1', EMPTY: '' },
    });
    expect(planSpawn(wl({ command: ['x'] }), 1, {}).cwd).toBe('/srv/app');
    expect(planSpawn(wl({ command: ['x'], workingDir: '/abs' }), 1, {}).cwd).toBe('/abs');
  });

  it('rejects image-only, args-only and empty containers', () => {
    expect(() => checkRunnable(wl({ name: 'c', image: 'img:1' }))).toThrow(ImageNotRunnableLocallyError);
    expect(() => checkRunnable(wl({ image: 'img:1', args: ['a'] }))).toThrow(expect.objectContaining({ code: 'WISP_ERR_COMMAND_REQUIRED' }));
    expect(() => checkRunnable(wl({}))).toThrow('container "user-container": neither command nor image is set');
    expect(() => checkRunnable(wl({ command: [] , image: 'i' }))).toThrow(ImageNotRunnableLocallyError);
  });
});

describe('probe target', () => {
  it('defaults to TCP on $PORT and resolves httpGet fields', () => {
    expect(probeTarget(undefined, 'h', 9)).toEqual({ kind: 'tcp', host: 'h', port: 9 });
    expect(probeTarget({ tcpSocket: { port: 7 } }, 'h', 9)).toEqual({ kind: 'tcp', host: 'h', port: 7 });
    expect(probeTarget({ httpGet: { path: 'ready', httpHeaders: [{ name: 'a', value: 'b' }] } }, 'h', 9)).toEqual({
      kind: 'http',
      scheme: 'HTTP',
      host: 'h',
      port: 9,
      path: '/ready',
      headers: { a: 'b' },
    });
    expect(probeTimeoutMs(undefined)).toBe(1000);
    expect(probeTimeoutMs({ timeoutSeconds: 3 })).toBe(3000);
  });
});

describe('logs', () => {
  it('splits lines across chunks, strips CR and flushes the rest', () => {
    const s = new LineSplitter({ maxLine: 8 });
    expect(s.push('ab')).toEqual([]);
    expect(s.push('c\r\nde\nf')).toEqual(['abc', 'de']);
    expect(s.push('0123456789')).toEqual(['f0123456']);
    expect(s.flush()).toEqual(['789']);
    expect(s.flush()).toEqual([]);
  });

  it('keeps the newest items in a ring', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.toArray()).toEqual([3, 4, 5]);
  });

  it('merges revisions of a service oldest first and streams to followers', () => {
    const store = new LogStore({ capacity: 10 });
    const line = (revision: string, text: string) => ({ time: 0, revision, replica: `${revision}-1`, stream: 'stdout' as const, line: text });
    const seen: string[] = [];
    const stop = store.follow('ns/s', (l) => seen.push(l.line));
    store.add('ns/s-1', 'ns/s', line('s-1', 'one'));
    store.add('ns/t-1', 'ns/t', line('t-1', 'other'));
    store.add('ns/s-2', 'ns/s', line('s-2', 'two'));
    store.add('ns/s-1', 'ns/s', line('s-1', 'three'));
    stop();
    store.add('ns/s-2', 'ns/s', line('s-2', 'four'));
    expect(store.lines('ns/s').map((l) => l.line)).toEqual(['one', 'two', 'three', 'four']);
    expect(seen).toEqual(['one', 'two', 'three']);
    store.forget('ns/s-1');
    expect(store.lines('ns/s').map((l) => l.line)).toEqual(['two', 'four']);
  });
});

describe('orphan bookkeeping', () => {
  it('reads the start time from /proc/<pid>/stat even with odd command names', () => {
    const rest = Array.from({ length: 50 }, (_, i) => String(i + 3));
    expect(parseStatStartTime(`123 (a b) c)) ${rest.join(' ')}`)).toBe('22');
    expect(parseStatStartTime('garbage')).toBeUndefined();
    const own = parseStatStartTime(readFileSync(`/proc/${process.pid}/stat`, 'utf8'));
    expect(own).toMatch(/^\d+$/);
  });

  it('parses the state file and rejects malformed ones with a typed error', () => {
    expect(parseState('f', JSON.stringify({ version: 1, replicas: [{ pid: 10, startTime: '5', revision: 'a/b', replica: 'b-1' }, { pid: 1, startTime: '1' }, 'x'] }))).toEqual([
      { pid: 10, startTime: '5', revision: 'a/b', replica: 'b-1' },
    ]);
    expect(() => parseState('/s/replicas.json', '{')).toThrow(expect.objectContaining({ code: 'WISP_ERR_RUNTIME_STATE_FILE' }));
    expect(() => parseState('f', '{}')).toThrow('f: missing "replicas" array; orphan reaping skipped');
  });
});

describe('errors', () => {
  it('documents every error code used in errors.ts', () => {
    const src = readFileSync(new URL('../../../src/runtime/local/errors.ts', import.meta.url), 'utf8');
    const used = new Set([...src.matchAll(/readonly code = '([A-Z_]+)'/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
