import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireStateLock, LOCK_FILE, ownerHolds, parseLock, StateDirLockedError } from '../../../src/platform/state-lock.js';
import { processStartTime } from '../../../src/runtime/local/proc.js';
import { ReplicaStateFile, sameProcess } from '../../../src/runtime/local/state-file.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'wisp-lock-'));
  dirs.push(d);
  return d;
}

/** A live process in a process group of its own (like a replica). */
async function sleeper(): Promise<{ pid: number; startTime: string }> {
  const c = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  children.push(c);
  const pid = c.pid!;
  const startTime = await processStartTime(pid);
  return { pid, startTime: startTime! };
}

async function deadPid(): Promise<number> {
  const c = spawn('true', [], { stdio: 'ignore' });
  await new Promise((r) => c.once('exit', r));
  return c.pid!;
}

const LOGGER = { warn: () => undefined };

describe('state dir lock (pure)', () => {
  it('parses lock files and judges owners by pid and /proc start time', () => {
    expect(parseLock('{"pid":42,"startTime":"100"}')).toEqual({ pid: 42, startTime: '100' });
    expect(parseLock('{"pid":42}')).toEqual({ pid: 42 });
    expect(parseLock('nope')).toBeUndefined();
    expect(parseLock('{"pid":-1}')).toBeUndefined();
    const owner = { pid: 42, startTime: '100' };
    expect(ownerHolds(owner, { startTime: '100', procAvailable: true, alive: true })).toBe(true);
    expect(ownerHolds(owner, { startTime: '999', procAvailable: true, alive: true })).toBe(false); // pid reused
    expect(ownerHolds(owner, { startTime: undefined, procAvailable: true, alive: false })).toBe(false); // dead
    expect(ownerHolds(owner, { startTime: undefined, procAvailable: false, alive: true })).toBe(true); // no /proc
    expect(sameProcess(owner, '100')).toBe(true);
    expect(sameProcess(owner, undefined)).toBe(false);
  });
});

describe('state dir lock', () => {
  it('refuses a second holder with the live owner pid and the state dir as given; release frees it', async () => {
    const dir = await tempDir();
    const lock = await acquireStateLock({ dir, shownAs: '.wisp' });
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toEqual({ pid: process.pid, startTime: await processStartTime(process.pid) });
    const second = acquireStateLock({ dir, shownAs: '.wisp' });
    await expect(second).rejects.toBeInstanceOf(StateDirLockedError);
    await expect(second).rejects.toThrow(`another wisp up (pid ${process.pid}) is using .wisp`);
    await lock.release();
    const again = await acquireStateLock({ dir, shownAs: '.wisp' });
    await again.release();
  });

  it('takes over a lock whose owner is dead, or whose pid now belongs to another process', async () => {
    const dir = await tempDir();
    const path = join(dir, LOCK_FILE);
    await writeFile(path, JSON.stringify({ pid: await deadPid(), startTime: '1' }));
    const a = await acquireStateLock({ dir, shownAs: dir });
    expect(parseLock(await readFile(path, 'utf8'))?.pid).toBe(process.pid);
    await a.release();

    const other = await sleeper();
    await writeFile(path, JSON.stringify({ pid: other.pid, startTime: `${other.startTime}0` }));
    const b = await acquireStateLock({ dir, shownAs: dir });
    await b.release();

    await writeFile(path, 'garbage');
    const c = await acquireStateLock({ dir, shownAs: dir });
    await c.release();

    await writeFile(path, JSON.stringify(other));
    await expect(acquireStateLock({ dir, shownAs: 'x' })).rejects.toThrow(`another wisp up (pid ${other.pid}) is using x`);
  });
});

describe('orphan reaping with owners', () => {
  it('reaps replicas of a dead owner (or none recorded) and keeps a live owner\'s', async () => {
    const dir = await tempDir();
    const path = join(dir, 'replicas.json');
    const liveOwner = await sleeper();
    const kept = await sleeper();
    const orphan = await sleeper();
    const legacy = await sleeper();
    const doc = {
      version: 1,
      replicas: [
        { ...kept, revision: 'default/a-00001', replica: 'a-00001-1', owner: liveOwner },
        { ...orphan, revision: 'default/a-00001', replica: 'a-00001-2', owner: { pid: await deadPid(), startTime: '1' } },
        { ...legacy, revision: 'default/a-00001', replica: 'a-00001-3' },
      ],
    };
    await writeFile(path, JSON.stringify(doc));
    const killed = await new ReplicaStateFile({ path, logger: LOGGER }).reap();
    expect(killed.sort()).toEqual([orphan.pid, legacy.pid].sort());
    expect(await processStartTime(kept.pid)).toBe(kept.startTime);
    // The live owner's record stays in the file for a later reap.
    const after = JSON.parse(await readFile(path, 'utf8')) as { replicas: { pid: number }[] };
    expect(after.replicas.map((r) => r.pid)).toEqual([kept.pid]);
  });
});
