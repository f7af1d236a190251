/**
 * List-then-watch of one kind of object, kept in memory and indexed by revision key (client-go's Reflector): list,
 * watch from the list's resourceVersion, on a watch that ends watch again from the last resourceVersion seen, list
 * again on 410 Gone (an expired resourceVersion, as a status code or an ERROR event), and after a failure wait with
 * doubling back-off on the injected Clock before trying again, for as long as it runs. The API calls are handed in
 * (`ListWatchSource`), so this loop runs against a fake source in unit tests.
 */
import { sleep, type Clock } from '../../clock.js';

/** The metadata fields the loop reads. */
export interface Listed {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; deletionTimestamp?: unknown } | undefined;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchHandle {
  stop(): void;
}

/** The API calls behind a reflector. */
export interface ListWatchSource<T> {
  /** For messages: `pods`, `endpointslices`, `deployments`. */
  readonly what: string;
  list(): Promise<ListResult<T>>;
  /**
   * Watches from `resourceVersion`. `onEvent` gets each event's type and object; `done` is called once when the watch
   * ends (an error, or undefined/null for a clean end). May call `done` before it resolves.
   */
  watch(resourceVersion: string, onEvent: (type: string, object: unknown) => void, done: (err: unknown) => void): Promise<WatchHandle>;
  /** A watch event's object as T; undefined when it is not one (no metadata.name). */
  parse(object: unknown): T | undefined;
}

export interface ReflectorOptions<T> {
  source: ListWatchSource<T>;
  clock: Clock;
  /** The revision key an object belongs to; undefined: kept but in no key. */
  keyOf(obj: T): string | undefined;
  /** After every change, with the keys whose objects changed. */
  onChange(keys: ReadonlySet<string>): void;
  /** A list or watch failed (it will be retried). */
  onError(err: unknown, during: 'list' | 'watch'): void;
  /** Retry back-off: initialMs (500) doubling up to maxMs (30 000). */
  backoff?: { initialMs?: number; maxMs?: number };
}

/** A watch that ended this soon without a single event counts as a failure for back-off (no tight loop on a flapping server). */
const MIN_HEALTHY_WATCH_MS = 1_000;

/**
 * The HTTP status of a failed call (`httpStatus` of a KubernetesApiError, `statusCode` of the client's watch error) or
 * of a watch ERROR event's Status object (`code`), when it has one.
 */
export function statusCodeOf(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { httpStatus?: unknown; statusCode?: unknown; code?: unknown };
  if ('httpStatus' in e) return typeof e.httpStatus === 'number' ? e.httpStatus : undefined;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return typeof e.code === 'number' ? e.code : undefined;
}

function isTimeout(err: unknown): boolean {
  return err !== null && typeof err === 'object' && (err as { name?: unknown }).name === 'TimeoutError';
}

function idOf(obj: Listed): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export class Reflector<T extends Listed> {
  readonly #o: ReflectorOptions<T>;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #objects = new Map<string, T>();
  readonly #byKey = new Map<string, Map<string, T>>();
  readonly #abort = new AbortController();
  #resourceVersion = '';
  #failures = 0;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #loop: Promise<void> | undefined;

  constructor(opts: ReflectorOptions<T>) {
    this.#o = opts;
    this.#initialMs = opts.backoff?.initialMs ?? 500;
    this.#maxMs = opts.backoff?.maxMs ?? 30_000;
  }

  get what(): string {
    return this.#o.source.what;
  }

  /** Whether the first list has completed. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Starts the loop (once); resolves after the first successful list, or when stopped before one. */
  start(): Promise<void> {
    this.#loop ??= this.#run();
    return this.synced || this.#abort.signal.aborted ? Promise.resolve() : new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /** Ends the watch and the loop. The objects stay readable. */
  async stop(): Promise<void> {
    // The watch in flight is stopped by its abort listener (see #watchOnce).
    if (!this.#abort.signal.aborted) this.#abort.abort(new Error(`${this.what}: reflector stopped`));
    this.#wakeSyncWaiters();
    await this.#loop;
  }

  /** The objects of one revision key. */
  byKey(key: string): T[] {
    return [...(this.#byKey.get(key)?.values() ?? [])];
  }

  /** Every key with at least one object. */
  keys(): string[] {
    return [...this.#byKey.keys()];
  }

  /** The resourceVersion the next watch starts from ('' = list first). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      if (this.#resourceVersion === '') {
        try {
          const list = await this.#o.source.list();
          if (signal.aborted) return;
          this.#replace(list.items);
          this.#resourceVersion = list.resourceVersion;
          this.#failures = 0;
          if (!this.#synced) {
            this.#synced = true;
            this.#wakeSyncWaiters();
          }
        } catch (err) {
          if (signal.aborted) return;
          this.#o.onError(err, 'list');
          if (!(await this.#backoff())) return;
          continue;
        }
      }
      const started = this.#o.clock.now();
      const { err, events } = await this.#watchOnce(this.#resourceVersion);
      if (signal.aborted) return;
      if (statusCodeOf(err) === 410) {
        this.#resourceVersion = '';
        continue;
      }
      if (err !== undefined && err !== null && !isTimeout(err)) {
        this.#o.onError(err, 'watch');
        if (!(await this.#backoff())) return;
        continue;
      }
      if (events === 0 && this.#o.clock.now() - started < MIN_HEALTHY_WATCH_MS && !isTimeout(err)) {
        if (!(await this.#backoff())) return;
        continue;
      }
      this.#failures = 0;
    }
  }

  /** Waits the next back-off delay; false when stopped meanwhile. */
  async #backoff(): Promise<boolean> {
    const ms = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#failures, 30));
    this.#failures += 1;
    try {
      await sleep(this.#o.clock, ms, this.#abort.signal);
      return true;
    } catch {
      return false;
    }
  }

  #watchOnce(resourceVersion: string): Promise<{ err: unknown; events: number }> {
    return new Promise((resolve) => {
      const signal = this.#abort.signal;
      let events = 0;
      let ended = false;
      let handle: WatchHandle | undefined;
      const onAbort = (): void => {
        handle?.stop();
        done(undefined);
      };
      const done = (err: unknown): void => {
        if (ended) return;
        ended = true;
        signal.removeEventListener('abort', onAbort);
        resolve({ err, events });
      };
      const onEvent = (type: string, object: unknown): void => {
        if (ended || signal.aborted) return;
        events += 1;
        if (!this.#onEvent(type, object)) {
          // An ERROR event: this watch is over (410 → list again; otherwise watch again after back-off).
          const code = statusCodeOf(object);
          const message = (object as { message?: unknown } | null)?.message;
          const err = Object.assign(new Error(`${this.what}: watch ERROR event${typeof message === 'string' ? `: ${message}` : ''}`), { statusCode: code ?? 500 });
          done(err);
          handle?.stop();
        }
      };
      this.#o.source.watch(resourceVersion, onEvent, done).then(
        (h) => {
          handle = h;
          if (ended || signal.aborted) h.stop();
          if (signal.aborted) done(undefined);
        },
        (err: unknown) => done(err ?? new Error(`${this.what}: watch failed`)),
      );
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Applies one event; false for an ERROR event. */
  #onEvent(type: string, object: unknown): boolean {
    if (type === 'ERROR') return false;
    const rv = (object as Listed | null)?.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (typeof rv === 'string' && rv !== '') this.#resourceVersion = rv;
      return true;
    }
    const obj = this.#o.source.parse(object);
    if (obj === undefined) return true;
    if (typeof rv === 'string' && rv !== '') this.#resourceVersion = rv;
    const changed = new Set<string>();
    if (type === 'DELETED') this.#delete(idOf(obj), changed);
    else if (type === 'ADDED' || type === 'MODIFIED') this.#put(obj, changed);
    if (changed.size > 0) this.#o.onChange(changed);
    return true;
  }

  /** A fresh list: what is not in it was deleted while nobody watched. */
  #replace(items: readonly T[]): void {
    const changed = new Set<string>();
    const next = new Set(items.map(idOf));
    for (const id of [...this.#objects.keys()]) if (!next.has(id)) this.#delete(id, changed);
    for (const obj of items) {
      const old = this.#objects.get(idOf(obj));
      if (old?.metadata?.resourceVersion !== undefined && old.metadata.resourceVersion === obj.metadata?.resourceVersion) continue;
      this.#put(obj, changed);
    }
    if (changed.size > 0) this.#o.onChange(changed);
  }

  #put(obj: T, changed: Set<string>): void {
    const id = idOf(obj);
    const old = this.#objects.get(id);
    if (old) this.#unindex(id, old, changed);
    this.#objects.set(id, obj);
    const key = this.#o.keyOf(obj);
    if (key === undefined) return;
    let m = this.#byKey.get(key);
    if (!m) this.#byKey.set(key, (m = new Map()));
    m.set(id, obj);
    changed.add(key);
  }

  #delete(id: string, changed: Set<string>): void {
    const old = this.#objects.get(id);
    if (!old) return;
    this.#objects.delete(id);
    this.#unindex(id, old, changed);
  }

  #unindex(id: string, obj: T, changed: Set<string>): void {
    const key = this.#o.keyOf(obj);
    if (key === undefined) return;
    const m = this.#byKey.get(key);
    if (!m) return;
    m.delete(id);
    if (m.size === 0) this.#byKey.delete(key);
    changed.add(key);
  }

  #wakeSyncWaiters(): void {
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const w of waiters) w();
  }
}
