/**
 * Importers' reconciler (PingSource for now): resolves each source's `spec.sink` like a Trigger subscriber, runs one
 * PingSourceRunner per resolvable source (restarted when what it sends or where changes), and writes status.
 * Reacts to PingSource changes and to the Brokers and Services sinks refer to. Deleting a source stops its events.
 */
import type { Destination } from '../../broker/types.js';
import type { Sender } from '../../broker/delivery/index.js';
import { kindByName, type KindInfo } from '../api/kinds.js';
import type { Condition, KObject } from '../api/types.js';
import type { Clock } from '../clock.js';
import { refersTo, resolveDestination, type AddressableLookup } from '../control/eventing/destination.js';
import type { Store, WatchEvent } from '../control/store.js';
import { WorkQueue } from '../control/work-queue.js';
import type { ScheduleError, SourceDeliveryError, SourceOverloadedError } from './errors.js';
import { PingSourceRunner, type PingDeliveryPolicy, type PingOutcome, type PingRunSpec } from './ping/runner.js';
import { isKnownTimeZone, scheduleProblem } from './ping/schedule.js';
import { pingSourceStatus, type DeployState, type SinkState } from './status.js';

/** `spec` of a PingSource (sources.knative.dev/v1). */
export interface PingSourceSpec {
  schedule?: string;
  timezone?: string;
  contentType?: string;
  data?: string;
  dataBase64?: string;
  sink?: Destination;
  ceOverrides?: { extensions?: Record<string, string> };
}

export interface ImportersReconcilerOptions {
  store: Store;
  clock: Clock;
  sender: Sender;
  /** Retry policy of each source's own deliveries; DEFAULT_PING_DELIVERY otherwise. */
  delivery?: Partial<PingDeliveryPolicy>;
  /** Reconcile failures and events a source gave up on (`what` says which). */
  onError?: (what: string, err: unknown) => void;
  /** Every tick's outcome, by source key `<ns>/<name>`. */
  onOutcome?: (key: string, outcome: PingOutcome) => void;
  /** Event ids; default random UUIDs. */
  newId?: () => string;
}

const kind = (name: string): KindInfo => {
  const k = kindByName(name);
  if (!k) throw new Error(`unknown kind ${name}`);
  return k;
};
const PINGSOURCES = kind('pingsources.sources.knative.dev');
const BROKERS = kind('brokers.eventing.knative.dev');
const SERVICES = kind('services.serving.knative.dev');

function isKind(ev: WatchEvent, info: KindInfo): boolean {
  return ev.kind.group === info.group && ev.kind.kind === info.kind;
}

export class ImportersReconciler {
  readonly #o: ImportersReconcilerOptions;
  readonly #queue: WorkQueue;
  readonly #lookup: AddressableLookup;
  /** Running sources by `<ns>/<name>`, with the signature of what they were started with. */
  readonly #runners = new Map<string, { runner: PingSourceRunner; signature: string }>();
  #unsubscribe: (() => void) | undefined;
  /** The key whose status this reconciler is writing: its own write does not queue it again. */
  #writing: string | undefined;

  constructor(options: ImportersReconcilerOptions) {
    this.#o = options;
    this.#queue = new WorkQueue({
      handler: (key) => this.#reconcile(key),
      onError: (key, err) => options.onError?.(`reconcile pingsource ${key}`, err),
    });
    this.#lookup = {
      service: (ns, name) => options.store.get(SERVICES, ns, name),
      broker: (ns, name) => options.store.get(BROKERS, ns, name),
    };
  }

  /** Starts watching and reconciles every PingSource already in the store. */
  start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#o.store.watch((ev) => this.#onEvent(ev));
    for (const p of this.#o.store.list(PINGSOURCES)) this.#queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
  }

  /** Resolves when every change so far has been reconciled. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Stops watching and stops every source's events. */
  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#queue.close();
    for (const { runner } of this.#runners.values()) runner.stop();
    this.#runners.clear();
  }

  /** Keys (`<ns>/<name>`) of the sources emitting events now. */
  running(): string[] {
    return [...this.#runners.keys()].sort();
  }

  #onEvent(ev: WatchEvent): void {
    const { namespace, name } = ev.object.metadata;
    if (isKind(ev, PINGSOURCES)) {
      if (this.#writing !== `${namespace}/${name}`) this.#queue.add(`${namespace}/${name}`);
    } else if (isKind(ev, BROKERS) || isKind(ev, SERVICES)) {
      const target = { kind: ev.kind.kind, namespace, name };
      for (const p of this.#o.store.list(PINGSOURCES)) {
        const ns = p.metadata.namespace;
        if (refersTo((p.spec as PingSourceSpec | undefined)?.sink, ns, target)) this.#queue.add(`${ns}/${p.metadata.name}`);
      }
    }
  }

  #stopRunner(key: string): void {
    this.#runners.get(key)?.runner.stop();
    this.#runners.delete(key);
  }

  #reconcile(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const source = this.#o.store.get(PINGSOURCES, namespace, name);
    if (!source) return this.#stopRunner(key);
    const spec = (source.spec ?? {}) as PingSourceSpec;
    const sink = this.#resolveSink(spec, namespace);
    let deploy: DeployState;
    if (sink.kind !== 'resolved') {
      this.#stopRunner(key);
      deploy = { kind: 'not-running', reason: 'SinkNotResolved', message: 'The schedule runs once the sink resolves.' };
    } else {
      deploy = this.#ensureRunner(key, source, spec, sink.uri);
    }
    const status = pingSourceStatus({
      namespace,
      name,
      generation: source.metadata.generation ?? 1,
      sink,
      deploy,
      previous: (source.status as { conditions?: Condition[] } | undefined)?.conditions,
      now: this.#o.clock.now(),
    });
    this.#writing = key;
    try {
      this.#o.store.updateStatus(PINGSOURCES, namespace, name, status);
    } finally {
      this.#writing = undefined;
    }
  }

  #resolveSink(spec: PingSourceSpec, namespace: string): SinkState {
    if (!spec.sink) return { kind: 'unresolved', reason: 'NotFound', message: 'spec.sink is not set' };
    const r = resolveDestination(spec.sink, namespace, this.#lookup);
    return r.ok ? { kind: 'resolved', uri: r.uri } : { kind: 'unresolved', reason: 'NotFound', message: r.message };
  }

  #ensureRunner(key: string, source: KObject, spec: PingSourceSpec, sinkUri: string): DeployState {
    const schedule = spec.schedule ?? '';
    const problem = schedule === '' ? 'spec.schedule is not set' : scheduleProblem(schedule);
    const zoneProblem = spec.timezone !== undefined && !isKnownTimeZone(spec.timezone) ? `unknown time zone "${spec.timezone}"` : undefined;
    if (problem !== undefined || zoneProblem !== undefined) {
      this.#stopRunner(key);
      return { kind: 'not-running', reason: 'InvalidSchedule', message: problem ?? zoneProblem ?? '' };
    }
    const runSpec: PingRunSpec = {
      namespace: source.metadata.namespace,
      name: source.metadata.name,
      schedule,
      ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}),
      payload: {
        ...(spec.contentType !== undefined ? { contentType: spec.contentType } : {}),
        ...(spec.data !== undefined ? { data: spec.data } : {}),
        ...(spec.dataBase64 !== undefined ? { dataBase64: spec.dataBase64 } : {}),
        ...(spec.ceOverrides?.extensions !== undefined ? { extensions: spec.ceOverrides.extensions } : {}),
      },
      sinkUri,
    };
    const signature = JSON.stringify(runSpec);
    if (this.#runners.get(key)?.signature === signature) return { kind: 'running' };
    this.#stopRunner(key);
    const onOutcome = this.#o.onOutcome;
    const runner = new PingSourceRunner({
      spec: runSpec,
      clock: this.#o.clock,
      sender: this.#o.sender,
      ...(this.#o.delivery !== undefined ? { delivery: this.#o.delivery } : {}),
      ...(this.#o.newId !== undefined ? { newId: this.#o.newId } : {}),
      ...(onOutcome !== undefined ? { onOutcome: (o: PingOutcome) => onOutcome(key, o) } : {}),
      onError: (err: SourceDeliveryError | SourceOverloadedError | ScheduleError) => this.#o.onError?.(`pingsource ${key}`, err),
    });
    runner.start();
    this.#runners.set(key, { runner, signature });
    return { kind: 'running' };
  }
}
