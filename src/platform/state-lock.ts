import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WispError } from '../errors.js';
import { isAlive, processStartTime } from '../runtime/local/proc.js';

/**
 * One `wisp up` per state dir. The first instance writes `<stateDir>/wisp.lock` ({pid, startTime}); a second one
 * finds the lock held by a live process and refuses before it touches anything (no orphan reaping, no ports bound).
 *
 * The lock file appears atomically, complete: it is written to a temporary file and hard-linked into place, and
 * `link` fails with EEXIST when a lock exists. A lock whose owner is dead, or whose pid now belongs to another
 * process (the /proc start time differs, as for replica records in src/runtime/local/state-file.ts), is stale and
 * taken over: renamed away (atomic, so of two instances taking over only one gets it), checked to be the stale lock
 * that was judged, then deleted. A lock left by a SIGKILLed platform is therefore no obstacle.
 */
export const LOCK_FILE = 'wisp.lock';

/** Who holds a lock: a pid and, where /proc exists, its start time (which tells a reused pid apart). */
export interface LockOwner {
  pid: number;
  startTime?: string;
}

/** What is known about a recorded owner's pid now. */
export interface OwnerProbe {
  /** The pid's current /proc start time; undefined when the process is gone or there is no /proc. */
  startTime: string | undefined;
  /** Whether this system has /proc (our own start time is readable). */
  procAvailable: boolean;
  /** kill(pid, 0) succeeds: used only without /proc. */
  alive: boolean;
}

/** Does the recorded owner still hold the lock? Pure. */
export function ownerHolds(owner: LockOwner, probe: OwnerProbe): boolean {
  if (!probe.procAvailable) return probe.alive;
  if (probe.startTime === undefined) return false;
  return owner.startTime === undefined || owner.startTime === probe.startTime;
}

/** Parses a lock file; undefined when it is not one (treated as stale). Pure. */
export function parseLock(text: string): LockOwner | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { pid, startTime } = doc as { pid?: unknown; startTime?: unknown };
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  return typeof startTime === 'string' ? { pid, startTime } : { pid };
}

/** The state dir is in use by another live `wisp up`. */
export class StateDirLockedError extends WispError<'WISP_ERR_STATE_DIR_LOCKED'> {
  readonly code = 'WISP_ERR_STATE_DIR_LOCKED';
  readonly statusCode = 409;
  readonly retriable = true;

  constructor(
    readonly stateDir: string,
    readonly ownerPid: number,
  ) {
    super(`another wisp up (pid ${ownerPid}) is using ${stateDir}`);
  }
}

export interface StateLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** Removes the lock file if it is still this owner's. Idempotent. */
  release(): Promise<void>;
}

export interface AcquireStateLockOptions {
  /** The resolved state dir (must exist). */
  dir: string;
  /** The state dir as the user gave it, for the error message. */
  shownAs: string;
}

const MAX_ATTEMPTS = 8;

/** Takes the state dir's lock or throws StateDirLockedError naming the live owner. */
export async function acquireStateLock(opts: AcquireStateLockOptions): Promise<StateLock> {
  const path = join(opts.dir, LOCK_FILE);
  const startTime = await processStartTime(process.pid);
  const owner: LockOwner = startTime === undefined ? { pid: process.pid } : { pid: process.pid, startTime };
  const body = `${JSON.stringify(owner)}\n`;
  let seq = 0;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const tmp = `${path}.${process.pid}.${++seq}.tmp`;
    await writeFile(tmp, body);
    try {
      await link(tmp, path);
      return lockHandle(path, owner, body);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // released meanwhile: try again
    const held = parseLock(text);
    if (held !== undefined && (await holds(held, startTime !== undefined))) throw new StateDirLockedError(opts.shownAs, held.pid);
    await takeOver(path, text, ++seq);
  }
  throw new Error(`cannot take ${path}: it keeps changing (another wisp up is starting on the same state dir?)`);
}

async function holds(owner: LockOwner, procAvailable: boolean): Promise<boolean> {
  return ownerHolds(owner, { startTime: await processStartTime(owner.pid), procAvailable, alive: isAlive(owner.pid) });
}

/** Moves a stale lock away; if what was moved is not the lock judged stale (another instance replaced it), puts it back. */
async function takeOver(path: string, staleText: string, seq: number): Promise<void> {
  const aside = `${path}.${process.pid}.${seq}.stale`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else moved it: look again
  }
  const moved = await readFile(aside, 'utf8').catch(() => staleText);
  if (moved !== staleText) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function lockHandle(path: string, owner: LockOwner, body: string): StateLock {
  let released: Promise<void> | undefined;
  return {
    path,
    owner,
    release: () =>
      (released ??= (async () => {
        const text = await readFile(path, 'utf8').catch(() => undefined);
        if (text === body) await unlink(path).catch(() => undefined);
      })()),
  };
}
