/**
 * The control plane's object store: in memory, persisted to `<dir>/store.json` (debounced, atomic), with watch events.
 * Mutations are synchronous; persistence follows within `flushDelayMs` and is complete after `flush()`/`close()`.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { SERVING_DEFAULTS } from '../api/defaults.js';
import { apiVersionOf, kindOf, type KindInfo } from '../api/kinds.js';
import type { KObject } from '../api/types.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { AlreadyExistsError, InvalidError, NotFoundError, StoreCorruptError } from './errors.js';
import { readSnapshot, storeFilePath, writeSnapshot } from './store-file.js';

import { notifyWatchers, type ApplyResult, type ResourceStore, type WatchEvent, type WatchEventType } from './resource-store.js';

export type { ApplyResult, WatchEvent, WatchEventType } from './resource-store.js';

export interface StoreOptions {
  /** State folder; undefined keeps everything in memory. */
  dir?: string;
  clock?: Clock;
  /** Writes are coalesced for this long after a change. Default 50 ms. */
  flushDelayMs?: number;
  /** Called when a watch listener throws or a background write fails. Default: a process warning. */
  onError?: (err: unknown, where: 'listener' | 'persist') => void;
}

/**
 * A stored object. `object` is never changed in place once stored: a change stores a new object (which may share
 * unchanged parts with the old one), and readers get copies. So a snapshot for the state file can hold the stored
 * objects themselves, without a copy of the whole store per write.
 */
interface Entry {
  info: KindInfo;
  object: KObject;
}

function kindKeyOf(info: KindInfo): string {
  return `${info.group}|${info.kind}`;
}

function keyOf(info: KindInfo, ns: string, name: string): string {
  return `${kindKeyOf(info)}|${ns}|${name}`;
}

/** The label index's key of one label of an object of a kind in a namespace. */
function labelKeyOf(kindKey: string, ns: string, label: string, value: string): string {
  return `${kindKey}\u0000${ns}\u0000${label}\u0000${value}`;
}

/** Whether `obj` carries every label of `selector` with that value. */
function hasLabels(obj: KObject, selector: Readonly<Record<string, string>> | undefined): boolean {
  if (selector === undefined) return true;
  const labels = obj.metadata.labels;
  for (const k in selector) if (labels?.[k] !== selector[k]) return false;
  return true;
}

function compareObjects(a: KObject, b: KObject): number {
  const an = `${a.metadata.namespace}\u0000${a.metadata.name}`;
  const bn = `${b.metadata.namespace}\u0000${b.metadata.name}`;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

function nonEmpty(map: Record<string, string> | undefined): Record<string, string> | undefined {
  return map && Object.keys(map).length > 0 ? map : undefined;
}

/** What a user owns in an object: everything but status and server-set metadata. Generation moves when it changes. */
function userContent(obj: KObject): unknown {
  const { status: _status, metadata, ...rest } = obj;
  return { ...rest, labels: nonEmpty(metadata.labels), annotations: nonEmpty(metadata.annotations) };
}

export class Store implements ResourceStore {
  readonly #objects = new Map<string, Entry>();
  /**
   * The same entries by kind: a list reads only its kind's objects. With 1 000 Services the store holds ~4 000
   * objects of 4 kinds, and every reconcile lists some kind, so a scan of all of them made applying N Services O(N²).
   */
  readonly #byKind = new Map<string, Map<string, Entry>>();
  /**
   * The entries by (kind, namespace, label, value): a list with labels in one namespace (a Service's Revisions) reads
   * only the objects carrying the first of them, instead of every object of the kind in the namespace.
   */
  readonly #byLabel = new Map<string, Map<string, Entry>>();
  readonly #listeners = new Set<(ev: WatchEvent) => void>();
  readonly #revisionCounters = new Map<string, number>();
  readonly #file: string | undefined;
  readonly #clock: Clock;
  readonly #flushDelayMs: number;
  readonly #onError: (err: unknown, where: 'listener' | 'persist') => void;
  #resourceVersion = 0;
  #dirty = false;
  #timer: Timer | undefined;
  #writing: Promise<void> = Promise.resolve();
  /** The write waiting for the one in flight (see flush). */
  #queued: Promise<void> | undefined;
  #closed = false;

  private constructor(opts: StoreOptions) {
    this.#file = opts.dir === undefined ? undefined : storeFilePath(opts.dir);
    this.#clock = opts.clock ?? systemClock;
    this.#flushDelayMs = opts.flushDelayMs ?? 50;
    this.#onError = opts.onError ?? ((err, where) => process.emitWarning(`wisp store ${where} error: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Opens (and loads) the store; throws StoreCorruptError naming the file if it cannot be parsed. */
  static async open(opts: StoreOptions = {}): Promise<Store> {
    const store = new Store(opts);
    if (opts.dir !== undefined && store.#file !== undefined) {
      await mkdir(opts.dir, { recursive: true });
      const snap = await readSnapshot(store.#file);
      if (snap) store.#load(snap, store.#file);
    }
    return store;
  }

  #load(snap: NonNullable<Awaited<ReturnType<typeof readSnapshot>>>, file: string): void {
    this.#resourceVersion = snap.resourceVersion;
    for (const [k, v] of Object.entries(snap.revisionCounters)) this.#revisionCounters.set(k, v);
    for (const obj of snap.objects) {
      const info = kindOf(obj.apiVersion, obj.kind);
      if (!info) {
        throw new StoreCorruptError({ file, message: `state file ${file} is corrupt: unknown kind ${obj.apiVersion}/${obj.kind}` });
      }
      this.#put(keyOf(info, obj.metadata.namespace, obj.metadata.name), { info, object: obj });
    }
  }

  /** The latest resourceVersion handed out (for List metadata). */
  get resourceVersion(): string {
    return String(this.#resourceVersion);
  }

  /** The embedded store holds every kind. */
  serves(_kind: KindInfo): boolean {
    return true;
  }

  get(kind: KindInfo, namespace: string, name: string): KObject | undefined {
    const e = this.#objects.get(keyOf(kind, namespace, name));
    return e ? structuredClone(e.object) : undefined;
  }

  /**
   * Objects of a kind in one namespace, or in all namespaces when `namespace` is undefined, with all of `labels` when
   * given; sorted by namespace, name. Only the objects returned are copied.
   */
  list(kind: KindInfo, namespace?: string, labels?: Readonly<Record<string, string>>): KObject[] {
    const out: KObject[] = [];
    const first = labels === undefined ? undefined : Object.keys(labels)[0];
    const entries =
      namespace !== undefined && first !== undefined
        ? this.#byLabel.get(labelKeyOf(kindKeyOf(kind), namespace, first, labels![first]!))
        : this.#byKind.get(kindKeyOf(kind));
    if (entries === undefined) return out;
    for (const e of entries.values()) {
      if (namespace !== undefined && e.object.metadata.namespace !== namespace) continue;
      if (!hasLabels(e.object, labels)) continue;
      out.push(structuredClone(e.object));
    }
    return out.sort(compareObjects);
  }

  #put(key: string, entry: Entry): void {
    this.#objects.set(key, entry);
    const k = kindKeyOf(entry.info);
    let entries = this.#byKind.get(k);
    if (entries === undefined) this.#byKind.set(k, (entries = new Map()));
    entries.set(key, entry);
    this.#indexLabels(key, entry);
  }

  #remove(key: string, entry: Entry): void {
    this.#objects.delete(key);
    const k = kindKeyOf(entry.info);
    const entries = this.#byKind.get(k);
    entries?.delete(key);
    if (entries?.size === 0) this.#byKind.delete(k);
    this.#unindexLabels(key, entry);
  }

  #indexLabels(key: string, entry: Entry): void {
    const k = kindKeyOf(entry.info);
    const { namespace, labels } = entry.object.metadata;
    for (const [label, value] of Object.entries(labels ?? {})) {
      const lk = labelKeyOf(k, namespace, label, value);
      let entries = this.#byLabel.get(lk);
      if (entries === undefined) this.#byLabel.set(lk, (entries = new Map()));
      entries.set(key, entry);
    }
  }

  #unindexLabels(key: string, entry: Entry): void {
    const k = kindKeyOf(entry.info);
    const { namespace, labels } = entry.object.metadata;
    for (const [label, value] of Object.entries(labels ?? {})) {
      const lk = labelKeyOf(k, namespace, label, value);
      const entries = this.#byLabel.get(lk);
      entries?.delete(key);
      if (entries?.size === 0) this.#byLabel.delete(lk);
    }
  }

  #infoOf(obj: KObject): KindInfo {
    const info = kindOf(obj.apiVersion, obj.kind);
    if (!info) {
      throw new InvalidError({ message: `unknown kind ${obj.apiVersion}/${obj.kind}`, kind: obj.kind, name: obj.metadata.name, causes: [{ field: 'kind', message: 'unknown kind' }] });
    }
    return info;
  }

  #nextVersion(): string {
    this.#resourceVersion += 1;
    return String(this.#resourceVersion);
  }

  #insert(info: KindInfo, input: KObject): KObject {
    const ns = input.metadata.namespace ?? SERVING_DEFAULTS.defaultNamespace;
    const object = structuredClone(input);
    object.apiVersion = apiVersionOf(info);
    object.metadata = {
      ...object.metadata,
      namespace: ns,
      uid: randomUUID(),
      generation: 1,
      creationTimestamp: new Date(this.#clock.now()).toISOString(),
      resourceVersion: this.#nextVersion(),
    };
    this.#put(keyOf(info, ns, object.metadata.name), { info, object });
    this.#changed('ADDED', info, object);
    return structuredClone(object);
  }

  /** Creates an object (status kept from the input: platform-owned objects); AlreadyExistsError if it exists. */
  create(obj: KObject): KObject {
    const info = this.#infoOf(obj);
    const ns = obj.metadata.namespace ?? SERVING_DEFAULTS.defaultNamespace;
    if (this.#objects.has(keyOf(info, ns, obj.metadata.name))) {
      throw new AlreadyExistsError({ message: `${info.plural}.${info.group || 'core'} "${obj.metadata.name}" already exists`, kind: info.kind, name: obj.metadata.name });
    }
    return this.#insert(info, obj);
  }

  /**
   * Create or spec-level replace: labels, annotations, spec, data (and any other top-level field) come from the input;
   * status, uid and creationTimestamp are kept; ownerReferences come from the input when it has them.
   * `generation` moves only when that user content changes; nothing is written when it did not.
   */
  apply(obj: KObject): { object: KObject; result: ApplyResult } {
    const info = this.#infoOf(obj);
    const ns = obj.metadata.namespace ?? SERVING_DEFAULTS.defaultNamespace;
    const key = keyOf(info, ns, obj.metadata.name);
    const existing = this.#objects.get(key);
    if (!existing) {
      const { status: _ignored, ...rest } = obj;
      return { object: this.#insert(info, rest as KObject), result: 'created' };
    }
    const input = structuredClone(obj);
    input.apiVersion = apiVersionOf(info);
    const old = existing.object;
    const ownerChanged = input.metadata.ownerReferences !== undefined && !isDeepStrictEqual(input.metadata.ownerReferences, old.metadata.ownerReferences);
    if (isDeepStrictEqual(userContent(input), userContent(old)) && !ownerChanged) {
      return { object: structuredClone(old), result: 'unchanged' };
    }
    const { status: _ignored, metadata, ...rest } = input;
    const next: KObject = {
      ...rest,
      metadata: {
        ...old.metadata,
        labels: metadata.labels,
        annotations: metadata.annotations,
        ownerReferences: metadata.ownerReferences ?? old.metadata.ownerReferences,
        generation: (old.metadata.generation ?? 0) + 1,
        resourceVersion: this.#nextVersion(),
      },
    };
    for (const k of ['labels', 'annotations', 'ownerReferences'] as const) if (next.metadata[k] === undefined) delete next.metadata[k];
    if (isDeepStrictEqual(userContent(next), userContent(old))) next.metadata.generation = old.metadata.generation ?? 1;
    if (old.status !== undefined) next.status = old.status;
    this.#unindexLabels(key, existing);
    existing.object = next;
    this.#indexLabels(key, existing);
    this.#changed('MODIFIED', info, next);
    return { object: structuredClone(next), result: 'configured' };
  }

  /** Replaces status only (no generation bump); no write and no event when it is deep-equal to the stored one. */
  updateStatus(kind: KindInfo, namespace: string, name: string, status: unknown): KObject {
    const e = this.#objects.get(keyOf(kind, namespace, name));
    if (!e) throw new NotFoundError({ message: `${kind.plural}.${kind.group || 'core'} "${name}" not found`, kind: kind.kind, name });
    if (isDeepStrictEqual(e.object.status, status)) return structuredClone(e.object);
    const next: KObject = { ...e.object, status: structuredClone(status), metadata: { ...e.object.metadata, resourceVersion: this.#nextVersion() } };
    e.object = next;
    this.#changed('MODIFIED', kind, next);
    return structuredClone(next);
  }

  /** Removes an object; returns it, or undefined when it did not exist. */
  delete(kind: KindInfo, namespace: string, name: string): KObject | undefined {
    const key = keyOf(kind, namespace, name);
    const e = this.#objects.get(key);
    if (!e) return undefined;
    this.#remove(key, e);
    const gone: KObject = { ...e.object, metadata: { ...e.object.metadata, resourceVersion: this.#nextVersion() } };
    this.#changed('DELETED', e.info, gone);
    return structuredClone(gone);
  }

  /**
   * Hands out the next revision number of a Service (1, 2, ...). The counter lives in the store and is persisted, so
   * revision names never repeat, across restarts and across delete + re-create of the Service.
   */
  nextRevisionNumber(namespace: string, service: string): number {
    const key = `${namespace}/${service}`;
    const n = (this.#revisionCounters.get(key) ?? 0) + 1;
    this.#revisionCounters.set(key, n);
    this.#scheduleFlush();
    return n;
  }

  /** Subscribes to every change, delivered synchronously; a listener that throws is reported, never breaks the store. */
  watch(listener: (ev: WatchEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** How many watch listeners are subscribed (watch streams must unsubscribe when their client leaves). */
  get watcherCount(): number {
    return this.#listeners.size;
  }

  #changed(type: WatchEventType, kind: KindInfo, object: KObject): void {
    this.#scheduleFlush();
    notifyWatchers(this.#listeners, type, kind, object, (err) => this.#onError(err, 'listener'));
  }

  #scheduleFlush(): void {
    if (this.#file === undefined) return;
    this.#dirty = true;
    if (this.#timer || this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((err: unknown) => this.#onError(err, 'persist'));
    }, this.#flushDelayMs);
  }

  /**
   * Writes pending changes now; resolves when they are on disk. One write at a time, and at most one waiting behind
   * it, which takes its snapshot when it starts and so carries every change made until then: a write slower than
   * the flush delay (fsync on a busy disk, a large store) no longer queues a full copy of the store per flush.
   */
  flush(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
    const file = this.#file;
    if (file === undefined || !this.#dirty) return this.#writing;
    if (this.#queued !== undefined) return this.#queued;
    const write = this.#writing
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        this.#dirty = false;
        const snap = {
          resourceVersion: this.#resourceVersion,
          revisionCounters: Object.fromEntries(this.#revisionCounters),
          objects: [...this.#objects.values()].map((e) => e.object),
        };
        // The stored objects themselves: they are never changed in place (see Entry).
        return writeSnapshot(file, snap);
      });
    const tracked = write.catch((err: unknown) => {
      this.#dirty = true;
      throw err;
    });
    this.#writing = tracked;
    this.#queued = tracked;
    return tracked;
  }

  /** Flushes and stops background writes. The store stays readable. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
