import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StateFileError } from './errors.js';
import { killGroup, processStartTime } from './proc.js';

/**
 * Orphan protection. If the platform dies with SIGKILL its replicas (each its own process group) keep running.
 * We record every live replica as {pid, startTime, revision} in `<stateDir>/replicas.json` (written atomically:
 * tmp file + rename). A new runtime on the same state dir reaps them before starting anything: it SIGKILLs the
 * process group of each recorded pid that is still alive AND whose /proc start time equals the recorded one, so a
 * pid the OS has since given to another process is never touched. SIGKILL, not a drain: orphans get no traffic
 * (the new platform routes to new ports), and a reap must be bounded. Without /proc (not Linux) the start time
 * cannot be verified, so nothing is recorded and nothing is killed.
 *
 * Each record also names its owner (the platform process that spawned the replica, pid + start time). Only
 * replicas whose owner is dead are orphans: a live owner's replicas are never reaped, even if a second platform
 * got past the state dir lock (src/platform/state-lock.ts). Records without an owner (older files) count as orphans.
 */
export interface ReplicaRecord {
  pid: number;
  startTime: string;
  revision: string;
  replica: string;
  owner?: ProcessIdentity;
}

/** A process as /proc identifies it: a pid and its start time. */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/** Whether a recorded process is still that process, given its current /proc start time. Pure. */
export function sameProcess(recorded: ProcessIdentity, currentStartTime: string | undefined): boolean {
  return currentStartTime !== undefined && currentStartTime === recorded.startTime;
}

interface StateDoc {
  version: 1;
  replicas: ReplicaRecord[];
}

export interface StateLogger {
  warn(m: string): void;
}

export class ReplicaStateFile {
  readonly path: string;
  readonly #logger: StateLogger;
  readonly #records = new Map<string, ReplicaRecord>();
  #dirty = false;
  #writing: Promise<void> | undefined;
  #tmpSeq = 0;

  constructor(opts: { path: string; logger: StateLogger }) {
    this.path = opts.path;
    this.#logger = opts.logger;
  }

  add(record: ReplicaRecord): void {
    this.#records.set(record.replica, record);
    this.#schedule();
  }

  delete(replica: string): void {
    if (this.#records.delete(replica)) this.#schedule();
  }

  /** Resolves once the file reflects every change made so far. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Kills recorded replicas that are still alive with the recorded start time; returns their pids. */
  async reap(): Promise<number[]> {
    let records: ReplicaRecord[];
    try {
      records = parseState(this.path, await readFile(this.path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      this.#logger.warn(err instanceof Error ? err.message : String(err));
      return [];
    }
    const killed: number[] = [];
    const own = new Set([...this.#records.values()].map((r) => r.pid));
    for (const r of records) {
      if (own.has(r.pid)) continue;
      // A live owner (this process or another platform) still manages its replicas: not orphans.
      if (r.owner !== undefined && (r.owner.pid === process.pid || sameProcess(r.owner, await processStartTime(r.owner.pid)))) {
        this.#keep(r);
        continue;
      }
      if (!sameProcess(r, await processStartTime(r.pid))) continue;
      if (killGroup(r.pid, 'SIGKILL')) killed.push(r.pid);
    }
    if (killed.length > 0) this.#logger.warn(`killed ${killed.length} orphaned replica process group(s) left by a previous run: ${killed.join(', ')}`);
    this.#schedule();
    await this.flush();
    return killed;
  }

  /** Keeps another live owner's record in the file (this runtime rewrites the whole file). */
  #keep(r: ReplicaRecord): void {
    if (!this.#records.has(r.replica)) this.#records.set(r.replica, r);
  }

  #schedule(): void {
    this.#dirty = true;
    if (this.#writing) return;
    this.#writing = this.#loop().finally(() => {
      this.#writing = undefined;
    });
  }

  async #loop(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      const doc: StateDoc = { version: 1, replicas: [...this.#records.values()] };
      const tmp = `${this.path}.${process.pid}.${++this.#tmpSeq}.tmp`;
      try {
        await mkdir(dirname(this.path), { recursive: true });
        await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`);
        await rename(tmp, this.path);
      } catch (err) {
        this.#logger.warn(`cannot write ${this.path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/** Parses the state file; throws StateFileError on anything malformed. */
export function parseState(path: string, text: string): ReplicaRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(path, 'not valid JSON; orphan reaping skipped', { cause: err });
  }
  const list = typeof doc === 'object' && doc !== null ? (doc as { replicas?: unknown }).replicas : undefined;
  if (!Array.isArray(list)) throw new StateFileError(path, 'missing "replicas" array; orphan reaping skipped');
  const out: ReplicaRecord[] = [];
  for (const item of list as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const r = item as Record<string, unknown>;
    if (typeof r.pid === 'number' && Number.isInteger(r.pid) && r.pid > 1 && typeof r.startTime === 'string') {
      const rec: ReplicaRecord = { pid: r.pid, startTime: r.startTime, revision: String(r.revision ?? ''), replica: String(r.replica ?? '') };
      const o = typeof r.owner === 'object' && r.owner !== null ? (r.owner as Record<string, unknown>) : undefined;
      if (o && typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0 && typeof o.startTime === 'string') {
        rec.owner = { pid: o.pid, startTime: o.startTime };
      }
      out.push(rec);
    }
  }
  return out;
}
