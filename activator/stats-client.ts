/**
 * The activator's ConcurrencyReporter when the autoscaler runs in another process (`wisp up --component activator`):
 * the second's reports are batched into one POST to the autoscaler's stats endpoint (autoscaler/stats-server.ts),
 * a poke is sent at once. Stats are a stream of samples, so a failed send is not retried: the next second's report
 * replaces it (a lost poke costs at most one autoscaler tick, since the report that follows shows the waiting
 * requests). A failing endpoint is logged once when it starts failing and once when it answers again.
 */
import type { ConcurrencyReporter } from './types.js';

/** autoscaler/stats-server.ts's MAX_STATS_PER_REPORT (the activator does not import the autoscaler). */
export const STATS_PER_REPORT = 10_000;

export interface RemoteReporterOptions {
  /** Base URL of the autoscaler's stats endpoint, e.g. `http://wisp-autoscaler.wisp-system.svc.cluster.local:8082`. */
  url: string;
  /** This activator's name in the reports (its Pod name): the autoscaler adds up the reports of different sources. */
  source: string;
  logger?: { warn(msg: string): void; info?(msg: string): void };
  /** Per-request deadline (ms). Default 2000. */
  timeoutMs?: number;
  /** Default the global fetch. */
  fetch?: typeof fetch;
  /** The activators the autoscaler heard from lately (its answer to each report), for this one's share. */
  onActivators?: (names: string[]) => void;
}

export class RemoteReporter implements ConcurrencyReporter {
  readonly #base: string;
  readonly #source: string;
  readonly #logger: { warn(msg: string): void; info?(msg: string): void };
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #onActivators: ((names: string[]) => void) | undefined;
  #pending: { key: string; concurrency: number }[] = [];
  #failing: string | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(opts: RemoteReporterOptions) {
    this.#base = opts.url.replace(/\/+$/, '');
    this.#source = opts.source;
    this.#logger = opts.logger ?? { warn: () => {} };
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    this.#fetch = opts.fetch ?? fetch;
    this.#onActivators = opts.onActivators;
  }

  /** `now` is not sent: the autoscaler stamps reports with its own clock when they arrive. */
  report(key: string, concurrency: number, _now?: number): void {
    this.#pending.push({ key, concurrency });
  }

  flush(): void {
    if (this.#pending.length === 0 || this.#closed) return;
    const stats = this.#pending;
    this.#pending = [];
    // The endpoint takes up to STATS_PER_REPORT revisions a report: more active revisions than that go in several.
    for (let i = 0; i < stats.length; i += STATS_PER_REPORT) this.#send('/v1/stats', { source: this.#source, stats: stats.slice(i, i + STATS_PER_REPORT) });
  }

  poke(key: string): void {
    if (this.#closed) return;
    this.#send('/v1/poke', { source: this.#source, key });
  }

  /** Resolves when every send started so far has ended (tests; shutdown). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#pending = [];
    await this.settled();
  }

  #answered(body: unknown): void {
    const names = (body as { activators?: unknown } | null)?.activators;
    if (Array.isArray(names) && names.every((n) => typeof n === 'string')) this.#onActivators?.(names);
  }

  #send(path: string, body: unknown): void {
    const p = this.#post(path, body).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  async #post(path: string, body: unknown): Promise<void> {
    const url = `${this.#base}${path}`;
    let problem: string | undefined;
    try {
      const res = await this.#fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (res.status === 200) this.#answered(await res.json());
      else if (res.status !== 204) problem = `${res.status} ${(await res.text()).trim().slice(0, 300)}`;
      else await res.body?.cancel();
    } catch (err) {
      problem = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
    }
    if (problem !== undefined) {
      if (this.#failing === undefined) this.#logger.warn(`activator: the autoscaler at ${url} did not take stats (${problem}); retrying every second`);
      this.#failing = problem;
    } else if (this.#failing !== undefined) {
      this.#failing = undefined;
      (this.#logger.info ?? this.#logger.warn)(`activator: the autoscaler at ${this.#base} takes stats again`);
    }
  }
}
