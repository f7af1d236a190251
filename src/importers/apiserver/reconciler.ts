/**
 * ApiServerSources' reconciler: resolves each source's `spec.sink` like a Trigger subscriber, runs one
 * ApiServerSourceRunner per resolvable source (restarted when what it watches or where it sends changes), and writes
 * status (`sinkUri`, `ceAttributes`, conditions Ready, SinkProvided, Deployed). Reacts to ApiServerSource changes and
 * to the Brokers and Services sinks refer to. Deleting a source stops its events.
 */
import type { Destination } from '../../../broker/types.js';
import type { Sender } from '../../../broker/delivery/index.js';
import { kindByName, kindOf, type KindInfo } from '../../api/kinds.js';
import type { Condition, KObject } from '../../api/types.js';
import type { Clock } from '../../clock.js';
import { refersTo, resolveDestination, type AddressableLookup } from '../../control/eventing/destination.js';
import type { Store, WatchEvent } from '../../control/store.js';
import { WorkQueue } from '../../control/work-queue.js';
import type { SourceDeliveryError, SourceOverloadedError } from '../errors.js';
import type { DeployState, SinkState } from '../status.js';
import { DEFAULT_API_SERVER_MODE, type ApiServerMode, type ApiServerResource } from './event.js';
import { ApiServerSourceRunner, type ApiServerDeliveryPolicy, type ApiServerOutcome, type ApiServerRunSpec } from './runner.js';
import { apiServerSourceStatus } from './status.js';

/** `spec` of an ApiServerSource (sources.knative.dev/v1). */
export interface ApiServerSourceSpec {
  resources?: ApiServerResource[];
  mode?: string;
  sink?: Destination;
  ceOverrides?: { extensions?: Record<string, string> };
}

export interface ApiServerSourcesReconcilerOptions {
  store: Store;
  clock: Clock;
  sender: Sender;
  /** The events' `source`: the control API base URL, e.g. `http://127.0.0.1:8090`. */
  sourceUri: string;
  delivery?: Partial<ApiServerDeliveryPolicy>;
  /** Reconcile failures and events a source gave up on or dropped (`what` says which). */
  onError?: (what: string, err: unknown) => void;
  /** Every event's outcome, by source key `<ns>/<name>`. */
  onOutcome?: (key: string, outcome: ApiServerOutcome) => void;
  /** Event ids; default random UUIDs. */
  newId?: () => string;
}

const kind = (name: string): KindInfo => {
  const k = kindByName(name);
  if (!k) throw new Error(`unknown kind ${name}`);
  return k;
};
const APISERVERSOURCES = kind('apiserversources.sources.knative.dev');
const BROKERS = kind('brokers.eventing.knative.dev');
const SERVICES = kind('services.serving.knative.dev');

function isKind(ev: WatchEvent, info: KindInfo): boolean {
  return ev.kind.group === info.group && ev.kind.kind === info.kind;
}

export class ApiServerSourcesReconciler {
  readonly #o: ApiServerSourcesReconcilerOptions;
  readonly #queue: WorkQueue;
  readonly #lookup: AddressableLookup;
  readonly #runners = new Map<string, { runner: ApiServerSourceRunner; signature: string }>();
  #unsubscribe: (() => void) | undefined;
  /** The key whose status this reconciler is writing: its own write does not queue it again. */
  #writing: string | undefined;

  constructor(options: ApiServerSourcesReconcilerOptions) {
    this.#o = options;
    this.#queue = new WorkQueue({
      handler: (key) => this.#reconcile(key),
      onError: (key, err) => options.onError?.(`reconcile apiserversource ${key}`, err),
    });
    this.#lookup = {
      service: (ns, name) => options.store.get(SERVICES, ns, name),
      broker: (ns, name) => options.store.get(BROKERS, ns, name),
    };
  }

  /** Starts watching and reconciles every ApiServerSource already in the store. */
  start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#o.store.watch((ev) => this.#onEvent(ev));
    for (const s of this.#o.store.list(APISERVERSOURCES)) this.#queue.add(`${s.metadata.namespace}/${s.metadata.name}`);
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

  /** The runner of a source, while it runs (for drained()/dropped in tests and metrics). */
  runner(key: string): ApiServerSourceRunner | undefined {
    return this.#runners.get(key)?.runner;
  }

  #onEvent(ev: WatchEvent): void {
    const { namespace, name } = ev.object.metadata;
    if (isKind(ev, APISERVERSOURCES)) {
      if (this.#writing !== `${namespace}/${name}`) this.#queue.add(`${namespace}/${name}`);
    } else if (isKind(ev, BROKERS) || isKind(ev, SERVICES)) {
      const target = { kind: ev.kind.kind, namespace, name };
      for (const s of this.#o.store.list(APISERVERSOURCES)) {
        const ns = s.metadata.namespace;
        if (refersTo((s.spec as ApiServerSourceSpec | undefined)?.sink, ns, target)) this.#queue.add(`${ns}/${s.metadata.name}`);
      }
    }
  }

  #stopRunner(key: string): void {
    this.#runners.get(key)?.runner.stop();
    this.#runners.delete(key);
  }

  #reconcile(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const source = this.#o.store.get(APISERVERSOURCES, namespace, name);
    if (!source) return this.#stopRunner(key);
    const spec = (source.spec ?? {}) as ApiServerSourceSpec;
    const mode: ApiServerMode = spec.mode === 'Resource' ? 'Resource' : DEFAULT_API_SERVER_MODE;
    const sink = this.#resolveSink(spec, namespace);
    let deploy: DeployState;
    if (sink.kind !== 'resolved') {
      this.#stopRunner(key);
      deploy = { kind: 'not-running', reason: 'SinkNotResolved', message: 'The watch starts once the sink resolves.' };
    } else {
      deploy = this.#ensureRunner(key, source, spec, mode, sink.uri);
    }
    const status = apiServerSourceStatus({
      generation: source.metadata.generation ?? 1,
      mode,
      sourceUri: this.#o.sourceUri,
      sink,
      deploy,
      previous: (source.status as { conditions?: Condition[] } | undefined)?.conditions,
      now: this.#o.clock.now(),
    });
    this.#writing = key;
    try {
      this.#o.store.updateStatus(APISERVERSOURCES, namespace, name, status);
    } finally {
      this.#writing = undefined;
    }
  }

  #resolveSink(spec: ApiServerSourceSpec, namespace: string): SinkState {
    if (!spec.sink) return { kind: 'unresolved', reason: 'NotFound', message: 'spec.sink is not set' };
    const r = resolveDestination(spec.sink, namespace, this.#lookup);
    return r.ok ? { kind: 'resolved', uri: r.uri } : { kind: 'unresolved', reason: 'NotFound', message: r.message };
  }

  #ensureRunner(key: string, source: KObject, spec: ApiServerSourceSpec, mode: ApiServerMode, sinkUri: string): DeployState {
    const resources = spec.resources ?? [];
    const unknown = resources.find((r) => !kindOf(r.apiVersion, r.kind));
    if (resources.length === 0 || unknown) {
      this.#stopRunner(key);
      const message = unknown ? `unknown kind "${unknown.kind}" in "${unknown.apiVersion}"` : 'spec.resources is empty';
      return { kind: 'not-running', reason: 'InvalidResources', message };
    }
    const runSpec: ApiServerRunSpec = {
      namespace: source.metadata.namespace,
      name: source.metadata.name,
      resources,
      mode,
      sourceUri: this.#o.sourceUri,
      ...(spec.ceOverrides?.extensions !== undefined ? { extensions: spec.ceOverrides.extensions } : {}),
      sinkUri,
    };
    const signature = JSON.stringify(runSpec);
    if (this.#runners.get(key)?.signature === signature) return { kind: 'running' };
    this.#stopRunner(key);
    const onOutcome = this.#o.onOutcome;
    const runner = new ApiServerSourceRunner({
      spec: runSpec,
      store: this.#o.store,
      clock: this.#o.clock,
      sender: this.#o.sender,
      ...(this.#o.delivery !== undefined ? { delivery: this.#o.delivery } : {}),
      ...(this.#o.newId !== undefined ? { newId: this.#o.newId } : {}),
      ...(onOutcome !== undefined ? { onOutcome: (o: ApiServerOutcome) => onOutcome(key, o) } : {}),
      onError: (err: SourceDeliveryError | SourceOverloadedError) => this.#o.onError?.(`apiserversource ${key}`, err),
    });
    runner.start();
    this.#runners.set(key, { runner, signature });
    return { kind: 'running' };
  }
}
