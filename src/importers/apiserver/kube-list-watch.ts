/**
 * One list-watch of one collection on the API server (client-go's Reflector, in small), for ApiServerSources on
 * Kubernetes: list (paged, with the `labelSelector`), then watch from the list's resourceVersion. What it knows is
 * kept by namespace/name so that a re-list can say what changed meanwhile.
 *
 * - The first successful list is the baseline: reported with `initial: true` (Knative's adapter sends nothing for
 *   objects that already existed: its reflector's Replace is a no-op; the runner does the same).
 * - A watch the server ends normally, or that was idle past the client's inactivity timeout, resumes from the last
 *   resourceVersion (bookmarks move it on). 410 Gone re-lists at once; any other failure re-lists after a back-off
 *   (doubling, capped), and the re-list reports the differences (changes made while the watch was down are not lost).
 * - A list that fails puts the watcher in `failed` with the API server's reason and message (403 → Forbidden), which
 *   the runner shows in the source's status; it is retried with the back-off until it works.
 */
import type { KObject } from '../../api/types.js';
import type { Clock, Timer } from '../../clock.js';
import { KubeApiError, type KubeList, type KubeWatchEvent } from '../../control/kube/client.js';
import { applyChange, backoffMs, relistChanges, watchProblem, withQuery, type ObjectChange, type WatchProblem } from './kube-spec.js';

/** What a watcher needs of the API: KubeClient fits (its watch ends an idle stream with no error: resume). */
export interface KubeWatchApi {
  request<T>(method: 'GET', path: string): Promise<T>;
  watch(path: string, resourceVersion: string, onEvent: (ev: KubeWatchEvent) => void, onDone: (err: unknown) => void): Promise<() => void>;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_WATCH_BACKOFF: Readonly<Backoff> = Object.freeze({ initialMs: 500, maxMs: 30_000 });

export type ListWatchState = { kind: 'listing' } | { kind: 'watching' } | { kind: 'failed'; problem: WatchProblem };

export interface ListWatchOptions {
  api: KubeWatchApi;
  /** The collection, e.g. `/apis/apps/v1/namespaces/shop/deployments`. */
  path: string;
  labelSelector?: string;
  /** Set on every object (list items come without them). */
  apiVersion: string;
  kind: string;
  clock: Clock;
  backoff?: Backoff;
  /** Changes, in order. `initial`: the first list's objects (all ADDED), which existed before the watch. */
  onChanges: (changes: ObjectChange[], initial: boolean) => void;
  /** The state changed (see `state`). */
  onState: () => void;
  /** A failure that is retried (for logs). */
  onError?: (err: unknown) => void;
}

const PAGE = 500;
/** A watch that ends sooner than this after it started counts as a failure (no hot loop on a server that closes at once). */
const MIN_WATCH_MS = 1_000;

function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.status;
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function problemOf(err: unknown): WatchProblem {
  if (err instanceof KubeApiError) return watchProblem(err.status, err.reason, err.body?.message ?? err.message);
  return watchProblem(statusCodeOf(err) ?? 0, undefined, err instanceof Error ? err.message : String(err));
}

export class ListWatch {
  readonly #o: ListWatchOptions;
  readonly #backoff: Backoff;
  readonly #known = new Map<string, KObject>();
  #state: ListWatchState = { kind: 'listing' };
  #synced = false;
  #resourceVersion = '';
  #failures = 0;
  #retry: Timer | undefined;
  #stopWatch: (() => void) | undefined;
  /** Bumped by every (re)list, watch and stop, so a late callback of an old one is ignored. */
  #epoch = 0;
  #stopped = false;

  constructor(options: ListWatchOptions) {
    this.#o = options;
    this.#backoff = options.backoff ?? DEFAULT_WATCH_BACKOFF;
  }

  get state(): ListWatchState {
    return this.#state;
  }

  /** What the watcher knows now (copies). */
  objects(): KObject[] {
    return [...this.#known.values()].map((o) => structuredClone(o));
  }

  start(): void {
    void this.#list();
  }

  stop(): void {
    this.#stopped = true;
    this.#epoch++;
    this.#retry?.cancel();
    this.#retry = undefined;
    this.#stopWatch?.();
    this.#stopWatch = undefined;
  }

  #setState(s: ListWatchState): void {
    if (JSON.stringify(s) === JSON.stringify(this.#state)) return;
    this.#state = s;
    this.#o.onState();
  }

  #typed(obj: KObject): KObject {
    return { ...obj, apiVersion: this.#o.apiVersion, kind: this.#o.kind };
  }

  async #list(): Promise<void> {
    if (this.#stopped) return;
    const epoch = ++this.#epoch;
    const listed: KObject[] = [];
    let rv = '';
    try {
      let cont: string | undefined;
      do {
        const page = await this.#o.api.request<KubeList>('GET', withQuery(this.#o.path, { labelSelector: this.#o.labelSelector, limit: String(PAGE), continue: cont }));
        for (const item of page.items ?? []) listed.push(this.#typed(item));
        cont = page.metadata?.continue || undefined;
        rv = page.metadata?.resourceVersion ?? rv;
      } while (cont);
    } catch (err) {
      if (epoch !== this.#epoch) return;
      this.#o.onError?.(err);
      this.#setState({ kind: 'failed', problem: problemOf(err) });
      this.#scheduleRelist();
      return;
    }
    if (epoch !== this.#epoch) return;
    const initial = !this.#synced;
    const changes = initial ? listed.map((object): ObjectChange => ({ type: 'ADDED', object })) : relistChanges(this.#known, listed);
    if (initial) this.#known.clear();
    for (const c of changes) applyChange(this.#known, c);
    this.#synced = true;
    this.#resourceVersion = rv;
    this.#failures = 0;
    this.#setState({ kind: 'watching' });
    if (changes.length > 0 || initial) this.#o.onChanges(changes, initial);
    this.#watch();
  }

  #scheduleRelist(now = false): void {
    if (this.#stopped) return;
    this.#retry?.cancel();
    const delay = now ? 0 : backoffMs(++this.#failures, this.#backoff);
    this.#retry = this.#o.clock.setTimeout(() => {
      this.#retry = undefined;
      void this.#list();
    }, delay);
  }

  #watch(quickEnds = 0): void {
    if (this.#stopped) return;
    const epoch = ++this.#epoch;
    const startedAt = this.#o.clock.now();
    let ended = false;
    const end = (then: 'resume' | 'relist-now' | 'relist', err?: unknown): void => {
      if (ended || epoch !== this.#epoch) return;
      ended = true;
      this.#stopWatch?.();
      this.#stopWatch = undefined;
      if (this.#stopped) return;
      if (then === 'relist-now') return this.#scheduleRelist(true);
      if (then === 'relist') {
        this.#o.onError?.(err);
        return this.#scheduleRelist();
      }
      if (this.#o.clock.now() - startedAt >= MIN_WATCH_MS) return this.#watch();
      // Ended at once: resume after a back-off, so a server that keeps closing is not hammered.
      this.#epoch++;
      this.#retry = this.#o.clock.setTimeout(() => {
        this.#retry = undefined;
        this.#watch(quickEnds + 1);
      }, backoffMs(quickEnds + 1, this.#backoff));
    };
    this.#o.api
      .watch(
        withQuery(this.#o.path, { labelSelector: this.#o.labelSelector }),
        this.#resourceVersion,
        (ev) => {
          if (epoch !== this.#epoch || ended) return;
          if (ev.type === 'ERROR') {
            const s = ev.object;
            const gone = s.code === 410 || s.reason === 'Expired' || s.reason === 'Gone';
            end(gone ? 'relist-now' : 'relist', new KubeApiError('WATCH', this.#o.path, s.code ?? 500, s));
            return;
          }
          const rv = ev.object.metadata?.resourceVersion;
          if (rv) this.#resourceVersion = rv;
          if (ev.type === 'BOOKMARK') return;
          const change: ObjectChange = { type: ev.type, object: this.#typed(ev.object) };
          applyChange(this.#known, change);
          this.#o.onChanges([change], false);
        },
        (err) => {
          if (err === undefined || err === null) end('resume');
          else end(statusCodeOf(err) === 410 ? 'relist-now' : 'relist', err);
        },
      )
      .then(
        (stop) => {
          if (epoch !== this.#epoch || ended) stop();
          else this.#stopWatch = stop;
        },
        (err: unknown) => end('relist', err),
      );
  }
}
