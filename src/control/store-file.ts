/** The store's state file: atomic writes (tmp, fsync, rename, fsync dir) and a strict reader. */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { KObject } from '../api/types.js';
import { StoreCorruptError } from './errors.js';

export const STORE_FILE_NAME = 'store.json';
const FORMAT_VERSION = 1;

export interface StoreSnapshot {
  resourceVersion: number;
  /** `<namespace>/<service>` → last revision number handed out. */
  revisionCounters: Record<string, number>;
  objects: KObject[];
}

export function storeFilePath(dir: string): string {
  return join(dir, STORE_FILE_NAME);
}

function corrupt(file: string, why: string, cause?: unknown): StoreCorruptError {
  return new StoreCorruptError({
    file,
    message: `state file ${file} is corrupt: ${why}; fix it or move it away to start with an empty store`,
    cause,
  });
}

/** Reads the snapshot; a missing file is an empty store, an unreadable one is a StoreCorruptError. */
export async function readSnapshot(file: string): Promise<StoreSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, err instanceof Error ? err.message : String(err), err);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw corrupt(file, 'not a JSON object');
  const r = raw as Record<string, unknown>;
  if (r['version'] !== FORMAT_VERSION) throw corrupt(file, `unknown format version ${JSON.stringify(r['version'])}, want ${FORMAT_VERSION}`);
  if (typeof r['resourceVersion'] !== 'number') throw corrupt(file, 'resourceVersion is not a number');
  if (!Array.isArray(r['objects'])) throw corrupt(file, 'objects is not a list');
  const counters = r['revisionCounters'] ?? {};
  if (typeof counters !== 'object' || counters === null || Array.isArray(counters)) throw corrupt(file, 'revisionCounters is not an object');
  for (const [i, o] of (r['objects'] as unknown[]).entries()) {
    const meta = (o as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
    if (typeof o !== 'object' || o === null || typeof meta?.name !== 'string' || typeof meta.namespace !== 'string') {
      throw corrupt(file, `objects[${i}] has no metadata.name/namespace`);
    }
  }
  return {
    resourceVersion: r['resourceVersion'],
    revisionCounters: counters as Record<string, number>,
    objects: r['objects'] as KObject[],
  };
}

/** Replaces the file atomically: a crash leaves either the old or the new content, never a mix. */
export async function writeSnapshot(file: string, snap: StoreSnapshot): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${randomUUID()}.tmp`;
  const data = JSON.stringify({ version: FORMAT_VERSION, ...snap }, null, 1);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
