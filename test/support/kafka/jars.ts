/**
 * Resolves Kafka's jars from Maven Central into a cache outside the repo, once per machine.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kafkaCacheDir } from './config.js';
import { KafkaSupportError } from './errors.js';
import { requireMaven, runCommand, type Env } from './tools.js';
import { acquireCacheLock, isCacheComplete } from '../cache-lock.js';

export interface EnsureKafkaJarsOptions {
  log?: (m: string) => void;
  /** Environment for `mvn` (PATH) and WISP_CACHE_DIR; defaults to process.env. */
  env?: Env;
}

const RESOLVE_TIMEOUT_MS = 10 * 60_000;
const LOCK_STALE_MS = RESOLVE_TIMEOUT_MS + 60_000;
const LOCK_POLL_MS = 250;

/** The pom next to this file; from dist/ (where `npm run kafka` runs) it is found in the source tree. */
export function kafkaPomPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'pom.xml'), join(here, '..', '..', '..', '..', 'test', 'support', 'kafka', 'pom.xml')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`Kafka support: pom.xml not found (looked at ${candidates.join(', ')})`);
  return found;
}

/**
 * Returns the directory holding Kafka's jars (use it as `<dir>/*` on a classpath). Runs
 * `mvn dependency:copy-dependencies` only when the cache is missing or was made from another pom;
 * concurrent callers (several test runs, `npm run kafka`) wait for one resolver through a lock directory.
 */
export async function ensureKafkaJars(opts: EnsureKafkaJarsOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const pom = kafkaPomPath();
  const pomText = await readFile(pom, 'utf8');
  const stamp = createHash('sha256').update(pomText).digest('hex');
  const cache = kafkaCacheDir(env, homedir());
  const libs = join(cache, 'libs');
  const marker = join(cache, 'complete');
  const lock = join(cache, 'resolve.lock');

  if (await isCacheComplete(marker, stamp)) return libs;
  await mkdir(cache, { recursive: true });
  const release = await acquireCacheLock(lock, { staleMs: LOCK_STALE_MS, pollMs: LOCK_POLL_MS, doing: 'resolving Kafka jars', log });
  try {
    if (await isCacheComplete(marker, stamp)) return libs; // another run resolved while we waited
    await requireMaven(env);
    log(`resolving Kafka jars with Maven into ${libs} (first run only)`);
    const started = Date.now();
    const staging = join(cache, `libs.staging-${process.pid}`);
    await rm(staging, { recursive: true, force: true });
    const res = await runCommand(
      'mvn',
      ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime'],
      { env, timeoutMs: RESOLVE_TIMEOUT_MS, cwd: dirname(pom) },
    );
    if (res.code !== 0) {
      await rm(staging, { recursive: true, force: true });
      throw new KafkaSupportError(
        'WISP_ERR_KAFKA_RESOLVE_FAILED',
        `Resolving Kafka's jars failed (mvn exit ${String(res.code ?? res.signal)}; is Maven Central reachable?):\n${res.output}`,
      );
    }
    const jars = (await readdir(staging)).filter((f) => f.endsWith('.jar'));
    if (!jars.some((f) => f.startsWith('kafka_2.13-'))) {
      throw new KafkaSupportError('WISP_ERR_KAFKA_RESOLVE_FAILED', `Resolving Kafka's jars: no kafka_2.13 jar in ${staging} (got ${jars.join(', ')})`);
    }
    await rm(libs, { recursive: true, force: true });
    await rename(staging, libs);
    await writeFile(marker, `${stamp}\n`);
    log(`resolved ${jars.length} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return libs;
  } finally {
    await release();
  }
}
