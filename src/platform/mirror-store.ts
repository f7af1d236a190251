/**
 * A data-plane worker's copy of the resources its broker data plane reads (the kinds of a split install's broker
 * component: Brokers, Triggers, Services, ConfigMaps), kept by the primary's watch events over IPC (workers.ts). It
 * is read-only: the worker runs eventing with the `data` role, which writes no status and owns no storage.
 */
import { kindByName, type KindInfo } from '../api/kinds.js';
import type { KObject } from '../api/types.js';
import { notifyWatchers, type ResourceStore, type WatchEvent, type WatchEventType } from '../control/resource-store.js';
import type { MirroredObject } from './worker-protocol.js';

/** `services.serving.knative.dev`, or `configmaps` for the core group: what kindByName finds again. */
export function kindKey(kind: KindInfo): string {
  return kind.group ? `${kind.plural}.${kind.group}` : kind.plural;
}

export class MirrorReadOnlyError extends Error {
  readonly code = 'WISP_ERR_MIRROR_READ_ONLY';
  constructor(what: string) {
    super(`data-plane worker: ${what}: this process mirrors the primary's resources and writes none (the primary's reconcilers do)`);
  }
}

export class MirrorStore implements ResourceStore {
  readonly #kinds: ReadonlySet<string>;
  readonly #objects = new Map<string, Map<string, KObject>>();
  readonly #listeners = new Set<(ev: WatchEvent) => void>();
  readonly #onError: (err: unknown) => void;
  #version = 0;

  constructor(opts: { kinds: readonly KindInfo[]; onError: (err: unknown) => void }) {
    this.#kinds = new Set(opts.kinds.map(kindKey));
    this.#onError = opts.onError;
  }

  get resourceVersion(): string {
    return String(this.#version);
  }

  get watcherCount(): number {
    return this.#listeners.size;
  }

  serves(kind: KindInfo): boolean {
    return this.#kinds.has(kindKey(kind));
  }

  /** The primary's objects at the worker's start (no events: nothing watches yet). */
  load(objects: readonly MirroredObject[]): void {
    for (const o of objects) this.#put(o.kind, o.object);
  }

  /** One watch event of the primary's store. */
  change(type: WatchEventType, kindName: string, object: KObject): void {
    const kind = kindByName(kindName);
    if (kind === undefined || !this.#kinds.has(kindKey(kind))) return;
    if (type === 'DELETED') this.#objects.get(kindKey(kind))?.delete(nameOf(object));
    else this.#put(kindName, object);
    this.#version++;
    notifyWatchers(this.#listeners, type, kind, object, this.#onError);
  }

  get(kind: KindInfo, namespace: string, name: string): KObject | undefined {
    const o = this.#objects.get(kindKey(kind))?.get(`${namespace}/${name}`);
    return o === undefined ? undefined : structuredClone(o);
  }

  list(kind: KindInfo, namespace?: string): KObject[] {
    const all = [...(this.#objects.get(kindKey(kind))?.values() ?? [])];
    return all
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .sort((a, b) => nameOf(a).localeCompare(nameOf(b)))
      .map((o) => structuredClone(o));
  }

  watch(listener: (ev: WatchEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  create(): never {
    throw new MirrorReadOnlyError('create');
  }
  apply(): never {
    throw new MirrorReadOnlyError('apply');
  }
  updateStatus(): never {
    throw new MirrorReadOnlyError('updateStatus');
  }
  delete(): never {
    throw new MirrorReadOnlyError('delete');
  }
  nextRevisionNumber(): never {
    throw new MirrorReadOnlyError('nextRevisionNumber');
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {
    this.#listeners.clear();
  }

  #put(kindName: string, object: KObject): void {
    const kind = kindByName(kindName);
    if (kind === undefined) return;
    const key = kindKey(kind);
    let objects = this.#objects.get(key);
    if (objects === undefined) this.#objects.set(key, (objects = new Map()));
    objects.set(nameOf(object), object);
  }
}

function nameOf(o: KObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}
