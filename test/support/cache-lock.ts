/**
 * The lock and completion marker shared by the test caches outside the repo (Kafka's jars, the Kubernetes binaries):
 * several test runs or `npm run kafka` / `npm run k8s` may fill one cache at once, and exactly one of them does the
 * work while the others wait for it.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CacheLockOptions {
  /** A lock older than this is stale (longer than any fill of the cache can take) and taken over. */
  staleMs: number;
  pollMs: number;
  /** For the log lines: what the owner of the lock is doing, e.g. "resolving Kafka jars". */
  doing: string;
  log: (m: string) => void;
}

/**
 * A lock directory (mkdir is atomic: whoever creates it holds the lock) holding the owner's pid. A lock whose owner
 * died (Ctrl-C during a build; same machine, the cache is local) or that is older than `staleMs` is taken over.
 * Returns the release function.
 */
export async function acquireCacheLock(lock: string, opts: CacheLockOptions): Promise<() => Promise<void>> {
  let announced = false;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'owner'), `${process.pid}\n`);
      return () => rm(lock, { recursive: true, force: true });
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST')) throw err;
    }
    const age = await stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => undefined,
    );
    if ((age !== undefined && age > opts.staleMs) || (await ownerIsGone(lock))) {
      opts.log(`removing stale lock ${lock}`);
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      opts.log(`waiting for another process ${opts.doing} (${lock})`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs));
  }
}

async function ownerIsGone(lock: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number((await readFile(join(lock, 'owner'), 'utf8')).trim());
  } catch {
    return false; // just created, owner not written yet
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return err instanceof Error && 'code' in err && err.code === 'ESRCH';
  }
}

/** True when the cache's completion marker holds `stamp` (the hash of what the cache was made from). */
export async function isCacheComplete(marker: string, stamp: string): Promise<boolean> {
  try {
    return (await readFile(marker, 'utf8')).trim() === stamp;
  } catch {
    return false;
  }
}
