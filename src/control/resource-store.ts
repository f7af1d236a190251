/**
 * The resource store seam: what the reconcilers and the control API need of a store, met by the embedded Store
 * (store.ts: in memory + store.json, writes done when they return) and by KubeStore (kube/store.ts: the Kubernetes
 * API through an informer cache, writes done when the API server has answered). Reads and watch events come from
 * memory in both, synchronously; writes may return a promise, and every caller awaits them, so the same reconciler
 * code runs on both. The composition root (src/platform) picks one. This lives in control/ beside the Store rather
 * than in core/ because its vocabulary (KindInfo, KObject) is the API layer's.
 */
import type { KindInfo } from '../api/kinds.js';
import type { KObject } from '../api/types.js';

export type MaybePromise<T> = T | Promise<T>;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: KObject;
  kind: KindInfo;
}

export type ApplyResult = 'created' | 'configured' | 'unchanged';

/** Reads from memory, and change events delivered synchronously to every listener. */
export interface ResourceReader {
  get(kind: KindInfo, namespace: string, name: string): KObject | undefined;
  /**
   * Objects of a kind in one namespace, or in all namespaces when `namespace` is undefined, and with every label of
   * `labels` when given (a lister's label selector: only the matches are copied); sorted by namespace, name.
   */
  list(kind: KindInfo, namespace?: string, labels?: Readonly<Record<string, string>>): KObject[];
  watch(listener: (ev: WatchEvent) => void): () => void;
}

export interface ResourceStore extends ResourceReader {
  /** The latest resourceVersion seen (for List metadata). */
  readonly resourceVersion: string;
  readonly watcherCount: number;
  /** Whether the store holds this kind (the Kubernetes store serves the kinds whose CRDs it watches). */
  serves(kind: KindInfo): boolean;
  /** Creates an object (status kept from the input: platform-owned objects); AlreadyExistsError if it exists. */
  create(obj: KObject): MaybePromise<KObject>;
  /** Create or spec-level replace (labels, annotations, spec, ownerReferences from the input; status kept). */
  apply(obj: KObject): MaybePromise<{ object: KObject; result: ApplyResult }>;
  /** Replaces status only; nothing is written when it equals the stored one. NotFoundError when the object is gone. */
  updateStatus(kind: KindInfo, namespace: string, name: string, status: unknown): MaybePromise<KObject>;
  /** Removes an object (its dependents follow, by ownerReferences); returns it, or undefined when it did not exist. */
  delete(kind: KindInfo, namespace: string, name: string): MaybePromise<KObject | undefined>;
  /** The next revision number of a Service (1, 2, ...). */
  nextRevisionNumber(namespace: string, service: string): MaybePromise<number>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Sends one change to every watch listener, each a copy of its own (a listener may keep or change it); a listener
 * that throws is reported to `onError` and the others still get the event. Both stores notify this way.
 */
export function notifyWatchers(
  listeners: ReadonlySet<(ev: WatchEvent) => void>,
  type: WatchEventType,
  kind: KindInfo,
  object: KObject,
  onError: (err: unknown) => void,
): void {
  if (listeners.size === 0) return;
  const ev: WatchEvent = { type, kind, object: structuredClone(object) };
  for (const l of [...listeners]) {
    try {
      l(ev);
    } catch (err) {
      onError(err);
    }
  }
}
