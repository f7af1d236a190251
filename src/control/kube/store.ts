/**
 * KubeStore: the ResourceStore of Kubernetes mode. Every kind it serves is list-watched from the API server into an
 * in-memory cache (client-go's reflector + informer, in small): reads and watch events come from the cache,
 * synchronously, as the embedded Store gives them; writes go to the API server and their answer (uid,
 * resourceVersion, generation set by the server) goes into the cache at once, so the next read sees it.
 *
 * - Status is written through the `/status` subresource; a 409 Conflict (stale resourceVersion) re-reads and retries.
 * - A watch that ends is resumed from the last resourceVersion; one that fails, or answers 410 Gone, re-lists and
 *   emits the differences (so a reconciler catches up with what happened while the API server was away).
 * - Deleting sends propagationPolicy Background: Kubernetes' garbage collector removes the dependents.
 */
import { isDeepStrictEqual } from 'node:util';
import { SERVING_DEFAULTS } from '../../api/defaults.js';
import { apiVersionOf, kindOf, type KindInfo } from '../../api/kinds.js';
import type { KObject } from '../../api/types.js';
import { systemClock, type Clock, type Timer } from '../../clock.js';
import { WispError } from '../../errors.js';
import { AlreadyExistsError, InvalidError, NotFoundError } from '../errors.js';
import { notifyWatchers, type ApplyResult, type ResourceStore, type WatchEvent, type WatchEventType } from '../resource-store.js';
import { CONFIGURATION_GENERATION_LABEL, SERVICE_LABEL } from '../serving/names.js';
import { KubeApiError, type KubeClient, type KubeList, type KubeWatchEvent } from './client.js';

/** One kind the store serves, optionally only in one namespace. */
export interface KubeStoreKind {
  info: KindInfo;
  /**
   * Watch only these namespaces (e.g. ConfigMaps of `knative-serving` and of the scope), one list-watch each;
   * default: the store's scope.
   */
  namespaces?: readonly string[];
}

export interface KubeStoreOptions {
  client: KubeClient;
  kinds: readonly KubeStoreKind[];
  /** Serve only this namespace (`--namespace-scope`); default all namespaces. */
  namespace?: string;
  clock?: Clock;
  /** A watch listener that threw, or a watch/list that failed (it is retried). */
  onError?: (err: unknown, where: string) => void;
  /** Re-list back-off after a failure: initial, doubling to max. Default 200 ms → 5 s. */
  backoff?: { initialMs: number; maxMs: number };
}

const CONFLICT_RETRIES = 8;

/** The `/api/v1/...` or `/apis/<group>/<version>/...` path of a collection or an object. */
export function kubePath(info: KindInfo, namespace?: string, name?: string, sub?: string): string {
  const root = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const one = name !== undefined ? `/${encodeURIComponent(name)}` : '';
  return `${root}${ns}/${info.plural}${one}${sub ? `/${sub}` : ''}`;
}

function nonEmpty(map: Record<string, string> | undefined): Record<string, string> | undefined {
  return map && Object.keys(map).length > 0 ? map : undefined;
}

/** What a user owns in an object (everything but status and server-set metadata), as the embedded Store compares it. */
function userContent(obj: KObject): unknown {
  const { status: _status, metadata, ...rest } = obj;
  return { ...rest, labels: nonEmpty(metadata.labels), annotations: nonEmpty(metadata.annotations) };
}

function compareObjects(a: KObject, b: KObject): number {
  const an = `${a.metadata.namespace}\u0000${a.metadata.name}`;
  const bn = `${b.metadata.namespace}\u0000${b.metadata.name}`;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** One kind's reflector: its cache, the resourceVersion to resume from, the running watch. */
class Reflector {
  readonly info: KindInfo;
  readonly namespace: string | undefined;
  readonly objects = new Map<string, KObject>();
  resourceVersion = '';
  stopWatch: (() => void) | undefined;
  retry: Timer | undefined;
  failures = 0;
  /** Bumped by each (re)start so a late callback of an old watch is ignored. */
  epoch = 0;

  constructor(info: KindInfo, namespace: string | undefined) {
    this.info = info;
    this.namespace = namespace;
  }

  get path(): string {
    return kubePath(this.info, this.namespace);
  }
}

export class KubeStore implements ResourceStore {
  readonly #client: KubeClient;
  readonly #clock: Clock;
  readonly #onError: (err: unknown, where: string) => void;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #reflectors = new Map<string, Reflector>();
  readonly #listeners = new Set<(ev: WatchEvent) => void>();
  /** uids deleted through this store: a late MODIFIED of one (deletionTimestamp set) must not bring it back. */
  readonly #deleted = new Set<string>();
  /** Revision numbers handed out but maybe not in the cache yet, per `<namespace>/<service>`. */
  readonly #revisionHighWater = new Map<string, number>();
  #resourceVersion = '0';
  #closed = false;

  private constructor(opts: KubeStoreOptions) {
    this.#client = opts.client;
    this.#clock = opts.clock ?? systemClock;
    this.#onError = opts.onError ?? ((err, where) => process.emitWarning(`wisp kube store ${where}: ${err instanceof Error ? err.message : String(err)}`));
    this.#backoff = opts.backoff ?? { initialMs: 200, maxMs: 5_000 };
    for (const k of opts.kinds) {
      const namespaces = k.namespaces !== undefined ? [...new Set(k.namespaces)] : [opts.namespace];
      for (const ns of namespaces) this.#reflectors.set(reflectorKey(k.info, ns), new Reflector(k.info, ns));
    }
  }

  /**
   * Lists every kind (so the cache is complete before any reconciler reads it), then watches them. A kind whose
   * resource the API server does not know (CRDs not installed) fails here with what to do.
   */
  static async open(opts: KubeStoreOptions): Promise<KubeStore> {
    const store = new KubeStore(opts);
    try {
      for (const r of store.#reflectors.values()) {
        await store.#list(r).catch((err: unknown) => {
          if (err instanceof KubeApiError && err.notFound) {
            throw new KubeStoreSetupError(
              `the cluster does not serve ${r.info.plural}.${r.info.group || 'core'}/${r.info.version}: install Wisp's CRDs first (kubectl apply -f manifests/crds/)`,
              err,
            );
          }
          throw err;
        });
      }
      for (const r of store.#reflectors.values()) store.#startWatch(r);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  get watcherCount(): number {
    return this.#listeners.size;
  }

  serves(kind: KindInfo): boolean {
    return this.#reflectorsOf(kind).length > 0;
  }

  get(kind: KindInfo, namespace: string, name: string): KObject | undefined {
    const o = this.#watching(kind, namespace)?.objects.get(`${namespace}/${name}`);
    return o ? structuredClone(o) : undefined;
  }

  list(kind: KindInfo, namespace?: string, labels?: Readonly<Record<string, string>>): KObject[] {
    const out: KObject[] = [];
    const wanted = labels === undefined ? [] : Object.entries(labels);
    for (const r of this.#reflectorsOf(kind)) {
      for (const o of r.objects.values()) {
        if (namespace !== undefined && o.metadata.namespace !== namespace) continue;
        if (wanted.some(([k, v]) => o.metadata.labels?.[k] !== v)) continue;
        out.push(structuredClone(o));
      }
    }
    return out.sort(compareObjects);
  }

  watch(listener: (ev: WatchEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async create(obj: KObject): Promise<KObject> {
    const ns = obj.metadata.namespace ?? SERVING_DEFAULTS.defaultNamespace;
    const r = this.#reflectorOf(obj, ns);
    const { status, ...rest } = obj;
    const body = { ...structuredClone(rest), apiVersion: apiVersionOf(r.info), metadata: { ...structuredClone(obj.metadata), namespace: ns } };
    let created: KObject;
    try {
      created = await this.#client.request<KObject>('POST', kubePath(r.info, ns), body);
    } catch (err) {
      if (err instanceof KubeApiError && err.alreadyExists) {
        throw new AlreadyExistsError({ message: `${r.info.plural}.${r.info.group || 'core'} "${obj.metadata.name}" already exists`, kind: r.info.kind, name: obj.metadata.name, cause: err });
      }
      throw translate(err, r.info, obj.metadata.name);
    }
    this.#upsertLocal(r, created);
    if (status !== undefined && r.info.group !== '') return this.updateStatus(r.info, ns, obj.metadata.name, status);
    return structuredClone(created);
  }

  async apply(obj: KObject): Promise<{ object: KObject; result: ApplyResult }> {
    const ns = obj.metadata.namespace ?? SERVING_DEFAULTS.defaultNamespace;
    const r = this.#reflectorOf(obj, ns);
    const name = obj.metadata.name;
    let current = r.objects.get(`${ns}/${name}`);
    if (!current) {
      const { status: _ignored, ...rest } = obj;
      try {
        return { object: await this.create(rest as KObject), result: 'created' };
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        current = await this.#refresh(r, ns, name); // the cache lags behind the API server
        if (!current) throw err;
      }
    }
    const input = structuredClone(obj);
    input.apiVersion = apiVersionOf(r.info);
    for (let attempt = 0; ; attempt++) {
      const ownerChanged = input.metadata.ownerReferences !== undefined && !isDeepStrictEqual(input.metadata.ownerReferences, current.metadata.ownerReferences);
      if (isDeepStrictEqual(userContent(input), userContent(current)) && !ownerChanged) return { object: structuredClone(current), result: 'unchanged' };
      const { status: _s, metadata, ...rest } = input;
      const next: KObject = {
        ...rest,
        metadata: {
          ...current.metadata,
          labels: metadata.labels,
          annotations: metadata.annotations,
          ownerReferences: metadata.ownerReferences ?? current.metadata.ownerReferences,
        },
      };
      for (const k of ['labels', 'annotations', 'ownerReferences'] as const) if (next.metadata[k] === undefined) delete next.metadata[k];
      if (current.status !== undefined) next.status = current.status;
      try {
        const replaced = await this.#client.request<KObject>('PUT', kubePath(r.info, ns, name), next);
        this.#upsertLocal(r, replaced);
        return { object: structuredClone(replaced), result: 'configured' };
      } catch (err) {
        if (!(err instanceof KubeApiError && err.conflict) || attempt >= CONFLICT_RETRIES) throw translate(err, r.info, name);
        const fresh = await this.#refresh(r, ns, name);
        if (!fresh) throw new NotFoundError({ message: `${r.info.plural}.${r.info.group || 'core'} "${name}" not found`, kind: r.info.kind, name });
        current = fresh;
      }
    }
  }

  async updateStatus(kind: KindInfo, namespace: string, name: string, status: unknown): Promise<KObject> {
    const r = this.#reflectorFor(kind, namespace);
    let current = r.objects.get(`${namespace}/${name}`);
    if (!current) current = await this.#refresh(r, namespace, name);
    for (let attempt = 0; ; attempt++) {
      if (!current) throw new NotFoundError({ message: `${kind.plural}.${kind.group || 'core'} "${name}" not found`, kind: kind.kind, name });
      if (isDeepStrictEqual(current.status, status)) return structuredClone(current);
      const body: KObject = { ...current, status: structuredClone(status) };
      try {
        const updated = await this.#client.request<KObject>('PUT', kubePath(kind, namespace, name, 'status'), body);
        this.#upsertLocal(r, updated);
        return structuredClone(updated);
      } catch (err) {
        if (err instanceof KubeApiError && err.notFound) {
          this.#removeLocal(r, `${namespace}/${name}`);
          current = undefined;
          continue;
        }
        if (!(err instanceof KubeApiError && err.conflict) || attempt >= CONFLICT_RETRIES) throw translate(err, kind, name);
        current = await this.#refresh(r, namespace, name);
      }
    }
  }

  async delete(kind: KindInfo, namespace: string, name: string): Promise<KObject | undefined> {
    const r = this.#reflectorFor(kind, namespace);
    const key = `${namespace}/${name}`;
    const cached = r.objects.get(key);
    let gone: KObject | undefined;
    try {
      gone = await this.#client.request<KObject>('DELETE', kubePath(kind, namespace, name), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) {
        this.#removeLocal(r, key);
        return undefined;
      }
      throw translate(err, kind, name);
    }
    const obj = gone && (gone as { kind?: string }).kind !== 'Status' ? gone : cached;
    if (obj?.metadata.uid) this.#deleted.add(obj.metadata.uid);
    this.#removeLocal(r, key);
    return obj ? structuredClone(obj) : undefined;
  }

  /**
   * The next revision number of a Service: one past the highest `configurationGeneration` among its Revisions
   * (Knative numbers revisions after the Configuration's generation; a Service deleted and created again starts at 1
   * again, as its Revisions went with it), never one this process handed out already.
   */
  nextRevisionNumber(namespace: string, service: string): number {
    const key = `${namespace}/${service}`;
    let max = this.#revisionHighWater.get(key) ?? 0;
    const revisions = [...this.#reflectors.values()].filter((r) => r.info.kind === 'Revision' && r.info.group === 'serving.knative.dev');
    for (const o of revisions.flatMap((r) => [...r.objects.values()])) {
      if (o.metadata.namespace !== namespace || o.metadata.labels?.[SERVICE_LABEL] !== service) continue;
      const n = Number(o.metadata.labels?.[CONFIGURATION_GENERATION_LABEL] ?? 0);
      if (Number.isInteger(n) && n > max) max = n;
    }
    this.#revisionHighWater.set(key, max + 1);
    return max + 1;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Stops every watch. The cache stays readable. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#reflectors.values()) {
      r.epoch++;
      r.retry?.cancel();
      r.retry = undefined;
      r.stopWatch?.();
      r.stopWatch = undefined;
    }
  }

  // --- the reflector -------------------------------------------------------------------------------------------

  /** Lists the kind (paged) and makes the cache equal to it, emitting what changed. */
  async #list(r: Reflector): Promise<void> {
    const seen = new Map<string, KObject>();
    let cont: string | undefined;
    let rv = '';
    do {
      const q = new URLSearchParams({ limit: '500' });
      if (cont) q.set('continue', cont);
      const page = await this.#client.request<KubeList>('GET', `${r.path}?${q.toString()}`);
      for (const item of page.items ?? []) {
        const obj = withTypeMeta(item, r.info);
        seen.set(`${obj.metadata.namespace}/${obj.metadata.name}`, obj);
      }
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    if (this.#closed) return;
    for (const [key, old] of [...r.objects]) {
      if (!seen.has(key)) {
        r.objects.delete(key);
        this.#emit('DELETED', r.info, old);
      }
    }
    for (const [key, obj] of seen) {
      const old = r.objects.get(key);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      r.objects.set(key, obj);
      this.#emit(old ? 'MODIFIED' : 'ADDED', r.info, obj);
    }
    r.resourceVersion = rv;
    this.#noteVersion(rv);
  }

  #startWatch(r: Reflector): void {
    if (this.#closed) return;
    const epoch = ++r.epoch;
    let ended = false;
    const end = (err: unknown, relist: boolean): void => {
      if (ended || epoch !== r.epoch) return;
      ended = true;
      r.stopWatch?.();
      r.stopWatch = undefined;
      if (this.#closed) return;
      if (err !== undefined) this.#onError(err, `watch ${r.info.plural}`);
      if (!relist && err === undefined) {
        r.failures = 0;
        this.#startWatch(r); // the server ends watches every few minutes: resume where it stopped
        return;
      }
      this.#scheduleRelist(r);
    };
    this.#client
      .watch(
        r.path,
        r.resourceVersion,
        (ev) => {
          if (epoch !== r.epoch) return;
          if (ev.type === 'ERROR') {
            const status = ev.object;
            end(new KubeApiError('WATCH', r.path, status.code ?? 500, status), true);
            return;
          }
          r.failures = 0;
          this.#onWatchEvent(r, ev);
        },
        (err) => end(err, err !== undefined),
      )
      .then(
        (stop) => {
          if (epoch !== r.epoch || ended) stop();
          else r.stopWatch = stop;
        },
        (err: unknown) => end(err, true),
      );
  }

  #scheduleRelist(r: Reflector): void {
    if (this.#closed) return;
    r.retry?.cancel();
    const delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(r.failures, 16));
    r.failures++;
    r.retry = this.#clock.setTimeout(() => {
      r.retry = undefined;
      this.#list(r).then(
        () => this.#startWatch(r),
        (err: unknown) => {
          this.#onError(err, `list ${r.info.plural}`);
          this.#scheduleRelist(r);
        },
      );
    }, delay);
  }

  #onWatchEvent(r: Reflector, ev: Exclude<KubeWatchEvent, { type: 'ERROR' }>): void {
    const rv = ev.object.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) r.resourceVersion = rv;
      return;
    }
    const obj = withTypeMeta(ev.object, r.info);
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (rv) {
      r.resourceVersion = rv;
      this.#noteVersion(rv);
    }
    if (ev.type === 'DELETED') {
      if (obj.metadata.uid) this.#deleted.delete(obj.metadata.uid);
      const old = r.objects.get(key);
      if (old && old.metadata.uid === obj.metadata.uid) {
        r.objects.delete(key);
        this.#emit('DELETED', r.info, obj);
      }
      return;
    }
    if (obj.metadata.uid && this.#deleted.has(obj.metadata.uid)) return;
    this.#upsertLocal(r, obj);
  }

  /** Puts a server answer into the cache and emits it, unless the cache holds that very version already. */
  #upsertLocal(r: Reflector, raw: KObject): void {
    const obj = withTypeMeta(raw, r.info);
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const old = r.objects.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    // A write answer can arrive after the watch delivered a newer version: resourceVersions of one object only grow.
    if (old && old.metadata.uid === obj.metadata.uid && newer(old.metadata.resourceVersion, obj.metadata.resourceVersion)) return;
    r.objects.set(key, obj);
    this.#emit(old ? 'MODIFIED' : 'ADDED', r.info, obj);
  }

  #removeLocal(r: Reflector, key: string): void {
    const old = r.objects.get(key);
    if (!old) return;
    r.objects.delete(key);
    this.#emit('DELETED', r.info, old);
  }

  /** Reads one object from the API server into the cache (undefined and removed from the cache when it is gone). */
  async #refresh(r: Reflector, namespace: string, name: string): Promise<KObject | undefined> {
    try {
      const fresh = withTypeMeta(await this.#client.request<KObject>('GET', kubePath(r.info, namespace, name)), r.info);
      this.#upsertLocal(r, fresh);
      return r.objects.get(`${namespace}/${name}`) ?? fresh;
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) {
        this.#removeLocal(r, `${namespace}/${name}`);
        return undefined;
      }
      throw err;
    }
  }

  #emit(type: WatchEventType, kind: KindInfo, object: KObject): void {
    notifyWatchers(this.#listeners, type, kind, object, (err) => this.#onError(err, 'listener'));
  }

  #noteVersion(rv: string): void {
    if (rv && newer(rv, this.#resourceVersion)) this.#resourceVersion = rv;
  }

  #reflectorOf(obj: KObject, namespace: string): Reflector {
    const info = kindOf(obj.apiVersion, obj.kind);
    if (!info) {
      throw new InvalidError({ message: `unknown kind ${obj.apiVersion}/${obj.kind}`, kind: obj.kind, name: obj.metadata.name, causes: [{ field: 'kind', message: 'unknown kind' }] });
    }
    return this.#reflectorFor(info, namespace);
  }

  #reflectorsOf(info: KindInfo): Reflector[] {
    const key = kindKey(info);
    return [...this.#reflectors.values()].filter((r) => kindKey(r.info) === key);
  }

  /** The reflector that watches `namespace` for this kind (one of all namespaces, or of that one). */
  #watching(info: KindInfo, namespace: string): Reflector | undefined {
    return this.#reflectors.get(reflectorKey(info, undefined)) ?? this.#reflectors.get(reflectorKey(info, namespace));
  }

  #reflectorFor(info: KindInfo, namespace: string): Reflector {
    const r = this.#watching(info, namespace);
    if (r) return r;
    const served = this.#reflectorsOf(info).map((x) => x.namespace ?? '');
    if (served.length === 0) throw new KindNotServedError(info);
    throw new NamespaceNotServedError(info, namespace, served);
  }
}

function kindKey(info: KindInfo): string {
  return `${info.group}|${info.kind}`;
}

function reflectorKey(info: KindInfo, namespace: string | undefined): string {
  return `${kindKey(info)}|${namespace ?? '*'}`;
}

/** List items come without apiVersion/kind; the store's objects always carry them. */
function withTypeMeta(obj: KObject, info: KindInfo): KObject {
  return { ...obj, apiVersion: apiVersionOf(info), kind: info.kind };
}

/**
 * Whether resourceVersion `a` is newer than `b`. resourceVersions are opaque to clients; etcd-backed servers hand out
 * increasing integers, which is all this compares (anything else counts as not newer).
 */
function newer(a: string | undefined, b: string | undefined): boolean {
  if (!a || !/^\d+$/.test(a)) return false;
  if (!b || !/^\d+$/.test(b)) return true;
  return a.length !== b.length ? a.length > b.length : a > b;
}

/** An API server refusal mapped onto the control errors the API edge already answers (422 keeps its causes). */
function translate(err: unknown, info: KindInfo, name: string): unknown {
  if (!(err instanceof KubeApiError)) return err;
  if (err.status === 422) {
    const causes = (err.body?.details?.causes ?? []).map((c) => ({ field: c.field ?? '', message: c.message ?? c.reason ?? 'invalid' }));
    return new InvalidError({ message: err.body?.message ?? err.message, kind: info.kind, name, causes, cause: err });
  }
  if (err.notFound) return new NotFoundError({ message: err.body?.message ?? err.message, kind: info.kind, name, cause: err });
  return err;
}

/** The store was asked for a kind it does not watch (e.g. eventing kinds before Kubernetes mode serves them). */
export class KindNotServedError extends NotFoundError {
  constructor(info: KindInfo) {
    super({
      message: `${info.plural}.${info.group || 'core'} are not served by Wisp's Kubernetes mode (it serves Knative Serving's, Eventing's and the sources' kinds, and ConfigMaps)`,
      kind: info.kind,
    });
  }
}

/** A write to a namespace outside what this store watches (`--namespace-scope`): its result would never be seen. */
export class NamespaceNotServedError extends NotFoundError {
  constructor(info: KindInfo, namespace: string, served: readonly string[]) {
    super({
      message: `${info.plural}.${info.group || 'core'} in namespace ${namespace} are not watched by this Wisp (it watches ${served.join(', ')}: --namespace-scope)`,
      kind: info.kind,
    });
  }
}

/** Opening the store failed for a reason the user must fix (CRDs missing). */
export class KubeStoreSetupError extends WispError {
  readonly code = 'WISP_ERR_KUBE_SETUP';
  readonly statusCode = 503;
  readonly retriable = false;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}
