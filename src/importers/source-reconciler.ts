/**
 * The skeleton every importer's reconciler shares: watches the store for sources of one kind and for the Brokers and
 * Services their `spec.sink` refers to, resolves the sink like a Trigger subscriber, runs one runner per resolvable
 * source (restarted when its run spec changes), and writes status. Deleting a source stops its runner.
 *
 * A kind plugs in `plan(source, sinkUri)` → the run spec or why it cannot run, `createRunner(key, runSpec)` and
 * `status(...)`; the run spec must be JSON-serialisable (its JSON is the restart signature).
 */
import type { Sender } from '../../broker/delivery/index.js';
import type { Destination } from '../../broker/types.js';
import { kindByName, type KindInfo } from '../api/kinds.js';
import type { Condition, KObject } from '../api/types.js';
import type { Clock } from '../clock.js';
import { refersTo, resolveDestination, type AddressableLookup, type CoreServiceDirectory } from '../control/eventing/destination.js';
import type { ResourceStore, WatchEvent } from '../control/resource-store.js';
import { WorkQueue } from '../control/work-queue.js';
import type { DeployState, SinkState } from './status.js';

/** What a source runner must offer the reconciler. */
export interface SourceRunner {
  start(): void;
  /**
   * Stops the runner. A runner whose stop takes time (closing a Kafka consumer: last offset commit, leaving the
   * group) returns a promise; the reconciler starts a replacement for the same source only after it resolves, and
   * its own stop() waits for it.
   */
  stop(): void | Promise<void>;
  /**
   * Where the runner stands now, for a runner that can fail after it started (a process that crash-loops): its
   * `Deployed` condition. Absent: `running` once started. A runner whose health changes calls the `requeue` it was
   * created with, so the reconciler writes the new status.
   */
  health?(): DeployState;
}

/** A run spec, or why the source cannot run (the `Deployed` condition's reason and message). */
export type SourcePlan<RunSpec> = { runSpec: RunSpec } | { problem: { reason: string; message: string } };

export interface SourceKind<RunSpec, Runner extends SourceRunner> {
  /** The source kind reconciled. */
  kind: KindInfo;
  /** Names the kind in `onError`'s `what`, e.g. `pingsource`. */
  label: string;
  /** Whether a source's status depends on this Broker or Service beyond its sink (SinkBinding's subject). */
  dependsOn?(source: KObject, object: KObject): boolean;
  /** The `Deployed` message while the sink does not resolve. */
  waitingForSink: string;
  plan(source: KObject, sinkUri: string): SourcePlan<RunSpec>;
  /**
   * The runner of a planned source. A kind without one (SinkBinding: its effect is its status, which others read)
   * is `running` whenever its plan succeeds.
   */
  createRunner?(key: string, runSpec: RunSpec, requeue: () => void): Runner;
  status(source: KObject, state: { sink: SinkState; deploy: DeployState; previous: readonly Condition[] | undefined; now: number }): object;
}

export interface SourceReconcilerOptions<RunSpec, Runner extends SourceRunner> {
  store: ResourceStore;
  clock: Clock;
  source: SourceKind<RunSpec, Runner>;
  /** Reconcile failures (`what` says which). */
  onError?: (what: string, err: unknown) => void;
  /** The cluster's v1 Services (Kubernetes mode), for sinks that name one. */
  coreServices?: CoreServiceDirectory;
}

/** What every reconciler of a kind that sends events itself (Ping, ApiServer, Kafka) is built with. */
export interface SendingSourceOptions<Policy, Outcome> {
  store: ResourceStore;
  clock: Clock;
  /** Delivers the events to sinks (HTTP POST, binary mode). */
  sender: Sender;
  /** The kind's delivery policy; its defaults otherwise. */
  delivery?: Partial<Policy>;
  /** Reconcile failures and events a source gave up on (`what` names the source). */
  onError?: (what: string, err: unknown) => void;
  /** Every event's outcome, by source key `<ns>/<name>`. */
  onOutcome?: (key: string, outcome: Outcome) => void;
  /** The cluster's v1 Services (Kubernetes mode), for sinks that name one. */
  coreServices?: CoreServiceDirectory;
}

export function kindNamed(name: string): KindInfo {
  const k = kindByName(name);
  if (!k) throw new Error(`unknown kind ${name}`);
  return k;
}

const BROKERS = kindNamed('brokers.eventing.knative.dev');
const SERVICES = kindNamed('services.serving.knative.dev');

function isKind(ev: WatchEvent, info: KindInfo): boolean {
  return ev.kind.group === info.group && ev.kind.kind === info.kind;
}

function sinkOf(source: KObject): Destination | undefined {
  return (source.spec as { sink?: Destination } | undefined)?.sink;
}

export class SourceReconciler<RunSpec, Runner extends SourceRunner> {
  readonly #o: SourceReconcilerOptions<RunSpec, Runner>;
  readonly #queue: WorkQueue;
  readonly #lookup: AddressableLookup;
  /** Running sources by `<ns>/<name>`, with the signature of what they were started with. */
  readonly #runners = new Map<string, { runner: Runner; signature: string }>();
  /** Runners still stopping, by key: a replacement starts after its predecessor stopped. */
  readonly #stopping = new Map<string, Promise<void>>();
  #stopped = false;
  #unsubscribe: (() => void) | undefined;
  /** The key whose status this reconciler is writing: its own write does not queue it again. */
  #writing: string | undefined;

  constructor(options: SourceReconcilerOptions<RunSpec, Runner>) {
    this.#o = options;
    this.#queue = new WorkQueue({
      handler: (key) => this.#reconcile(key),
      onError: (key, err) => options.onError?.(`reconcile ${options.source.label} ${key}`, err),
      // A status write refused while the API server is away (Kubernetes mode) is done again once it is back.
      retry: { clock: options.clock, initialMs: 100, maxMs: 10_000 },
    });
    this.#lookup = {
      service: (ns, name) => options.store.get(SERVICES, ns, name),
      broker: (ns, name) => options.store.get(BROKERS, ns, name),
      ...(options.coreServices && { coreService: (ns: string, name: string) => options.coreServices!.service(ns, name) }),
    };
  }

  /** Starts watching and reconciles every source of the kind already in the store. */
  start(): void {
    if (this.#unsubscribe) return;
    const unwatchStore = this.#o.store.watch((ev) => this.#onEvent(ev));
    const unwatchCore = this.#o.coreServices?.watch((namespace, name) => this.#requeueSinksOf({ kind: 'Service', namespace, name }));
    this.#unsubscribe = () => {
      unwatchStore();
      unwatchCore?.();
    };
    for (const s of this.#o.store.list(this.#o.source.kind)) this.#queue.add(`${s.metadata.namespace}/${s.metadata.name}`);
  }

  /** Resolves when every change so far has been reconciled. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Stops watching and stops every source's runner; resolves once every runner has stopped. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#queue.close();
    for (const key of [...this.#runners.keys()]) this.#stopRunner(key);
    await Promise.all(this.#stopping.values());
  }

  /** Keys (`<ns>/<name>`) of the sources running now. */
  running(): string[] {
    return [...this.#runners.keys()].sort();
  }

  /** The runner of a source, while it runs. */
  runner(key: string): Runner | undefined {
    return this.#runners.get(key)?.runner;
  }

  #onEvent(ev: WatchEvent): void {
    const { namespace, name } = ev.object.metadata;
    if (isKind(ev, this.#o.source.kind)) {
      if (this.#writing !== `${namespace}/${name}`) this.#queue.add(`${namespace}/${name}`);
    } else if (isKind(ev, BROKERS) || isKind(ev, SERVICES)) {
      this.#requeueSinksOf({ kind: ev.kind.kind, namespace, name }, ev.object);
    }
  }

  /** Sources whose sink is `target` (or that depend on `changed`, the object behind it). */
  #requeueSinksOf(target: { kind: string; namespace: string; name: string }, changed?: KObject): void {
    for (const s of this.#o.store.list(this.#o.source.kind)) {
      const ns = s.metadata.namespace;
      if (refersTo(sinkOf(s), ns, target) || (changed !== undefined && this.#o.source.dependsOn?.(s, changed))) this.#queue.add(`${ns}/${s.metadata.name}`);
    }
  }

  #stopRunner(key: string): void {
    const current = this.#runners.get(key);
    this.#runners.delete(key);
    if (!current) return;
    let stopped: void | Promise<void>;
    try {
      stopped = current.runner.stop();
    } catch (err) {
      this.#o.onError?.(`stop ${this.#o.source.label} ${key}`, err);
      return;
    }
    if (!(stopped instanceof Promise)) return;
    const done: Promise<void> = stopped
      .catch((err: unknown) => this.#o.onError?.(`stop ${this.#o.source.label} ${key}`, err))
      .finally(() => {
        if (this.#stopping.get(key) === done) this.#stopping.delete(key);
      });
    this.#stopping.set(key, done);
  }

  async #reconcile(key: string): Promise<void> {
    const { store, clock, source: kind } = this.#o;
    const [namespace = '', name = ''] = key.split('/');
    const source = store.get(kind.kind, namespace, name);
    if (!source) return this.#stopRunner(key);
    const sink = this.#resolveSink(sinkOf(source), namespace);
    let deploy: DeployState;
    if (sink.kind !== 'resolved') {
      this.#stopRunner(key);
      deploy = { kind: 'not-running', reason: 'SinkNotResolved', message: kind.waitingForSink };
    } else {
      deploy = await this.#ensureRunner(key, source, sink.uri);
    }
    const status = kind.status(source, {
      sink,
      deploy,
      previous: (source.status as { conditions?: Condition[] } | undefined)?.conditions,
      now: clock.now(),
    });
    this.#writing = key;
    try {
      await store.updateStatus(kind.kind, namespace, name, status);
    } finally {
      this.#writing = undefined;
    }
  }

  #resolveSink(sink: Destination | undefined, namespace: string): SinkState {
    if (!sink) return { kind: 'unresolved', reason: 'NotFound', message: 'spec.sink is not set' };
    const r = resolveDestination(sink, namespace, this.#lookup);
    return r.ok ? { kind: 'resolved', uri: r.uri } : { kind: 'unresolved', reason: 'NotFound', message: r.message };
  }

  async #ensureRunner(key: string, source: KObject, sinkUri: string): Promise<DeployState> {
    const plan = this.#o.source.plan(source, sinkUri);
    if ('problem' in plan) {
      this.#stopRunner(key);
      return { kind: 'not-running', ...plan.problem };
    }
    const create = this.#o.source.createRunner?.bind(this.#o.source);
    if (!create) return { kind: 'running' };
    const signature = JSON.stringify(plan.runSpec);
    const current = this.#runners.get(key);
    if (current?.signature === signature) return current.runner.health?.() ?? { kind: 'running' };
    this.#stopRunner(key);
    const predecessor = this.#stopping.get(key);
    if (predecessor !== undefined) await predecessor;
    if (this.#stopped) return { kind: 'not-running', reason: 'Stopped', message: 'The platform is shutting down.' };
    const runner = create(key, plan.runSpec, () => this.#queue.add(key));
    runner.start();
    this.#runners.set(key, { runner, signature });
    return runner.health?.() ?? { kind: 'running' };
  }
}
