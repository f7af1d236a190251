/**
 * Brokers and Triggers, as Knative's MT broker and trigger reconcilers do together: a Broker gets its storage in the
 * backend serving its class and an address on the broker ingress; a Trigger gets its broker, subscriber and dead-letter
 * sink resolved, its filter compiled, and is handed to the dispatcher. Reacts to Broker, Trigger and Service changes.
 */
import { effectiveDelivery, resolveDelivery } from '../../../broker/delivery/index.js';
import { compileTriggerFilter } from '../../../broker/filters/index.js';
import {
  BROKER_CLASS_ANNOTATION,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_BACKLOG,
  DELIVERY_ORDER_ANNOTATION,
  MAX_IN_FLIGHT_ANNOTATION,
  UNCAPPED_BROKER_CLASSES,
  type BrokerRef,
  type BrokerSettings,
  type BrokerSpec,
  type Destination,
  type EventBackend,
  type ResolvedDelivery,
  type TriggerBacklog,
  type TriggerRuntime,
  type TriggerSpec,
} from '../../../broker/types.js';
import { maxBacklogOf } from '../../api/broker.js';
import { MAX_BACKLOG_ANNOTATION } from '../../api/labels.js';
import { requireKind, type KindInfo } from '../../api/kinds.js';
import type { Condition, KObject } from '../../api/types.js';
import type { Clock, Timer } from '../../clock.js';
import { getCondition, type DesiredCondition } from '../conditions.js';
import type { ResourceReader, ResourceStore, WatchEvent } from '../resource-store.js';
import { WorkQueue } from '../work-queue.js';
import { resolveDestination, type AddressableLookup, type CoreServiceDirectory } from './destination.js';
import { ReferrerIndex, brokerTargets, memberKey, targetKey, triggerTargets } from './referrers.js';
import { brokerStatus, deadLetterCondition, triggerStatus, type BrokerBackendState, type BrokerBacklogState, type DeadLetterState, type TriggerConditionInput } from './status.js';

/** What the eventing reconciler needs of the dispatcher. */
export interface TriggerDispatcher {
  upsertTrigger(trigger: TriggerRuntime, backend: EventBackend): Promise<void>;
  removeTrigger(key: string): Promise<void>;
}

export interface EventingReconcilerOptions {
  store: ResourceStore;
  clock: Clock;
  /** Base URL of the broker ingress, e.g. `http://127.0.0.1:8081`; a Broker's address is `<base>/<ns>/<name>`. */
  brokerIngressUrl: string;
  backends: readonly EventBackend[];
  /** Class of Brokers without the class annotation, e.g. `Memory`. */
  defaultBrokerClass: string;
  dispatcher: TriggerDispatcher;
  onError?: (what: string, err: unknown) => void;
  /** After a failed dispatcher or backend call the object is reconciled again this much later. Default 1000 ms. */
  retryDelayMs?: number;
  /** How often backends' health is checked (brokers are reconciled when it changes). Default 2000 ms. */
  healthIntervalMs?: number;
  /**
   * Events waiting per Trigger before the ingress answers 503, for Brokers without the `wisp.dev/max-backlog`
   * annotation (Memory and Redis classes). Unset: each backend's own default (10 000).
   */
  defaultMaxBacklog?: number;
  /** The cluster's v1 Services (Kubernetes mode), for subscribers and dead-letter sinks that name one. */
  coreServices?: CoreServiceDirectory;
  /**
   * False in a data-plane-only process (`wisp up --component broker`): it serves the ingress and runs the Triggers'
   * consumers from what it reads, and the controller's reconciler, the one writer, writes Brokers' and Triggers'
   * status. Default true.
   */
  writeStatus?: boolean;
  /**
   * Whether a deleted Broker's storage in `backend` is deleted by this reconciler. A data-plane-only process drops its
   * in-memory brokers but leaves Redis queues and Kafka topics to the controller. Default: every backend.
   */
  deletesStorage?: (backend: EventBackend) => boolean;
}

const kind = requireKind;
const BROKERS = kind('brokers.eventing.knative.dev');
const TRIGGERS = kind('triggers.eventing.knative.dev');
const SERVICES = kind('services.serving.knative.dev');
const CONFIGMAPS = kind('configmaps');

const SUBSCRIBER_FAILED = "Unable to get the Subscriber's URI";
const DLS_FAILED = "Unable to get the dead letter sink's URI";

function isKind(ev: WatchEvent, info: KindInfo): boolean {
  return ev.kind.group === info.group && ev.kind.kind === info.kind;
}

/** `wisp.dev/max-in-flight`, or the default when absent or invalid (admission rejects invalid values). */
export function maxInFlightOf(annotations: Record<string, string> | undefined): number {
  const raw = annotations?.[MAX_IN_FLIGHT_ANNOTATION]?.trim();
  if (raw === undefined || !/^\d+$/.test(raw)) return DEFAULT_MAX_IN_FLIGHT;
  const n = Number(raw);
  return n >= 1 && n <= 10_000 ? n : DEFAULT_MAX_IN_FLIGHT;
}

export class EventingReconciler {
  readonly #o: EventingReconcilerOptions;
  #synced = false;
  readonly #queue: WorkQueue;
  readonly #lookup: AddressableLookup;
  /** Ready brokers by `<ns>/<name>`. */
  readonly #ready = new Map<string, { broker: BrokerRef; backend: EventBackend }>();
  /**
   * Brokers with a backend of their class, ready or not, by `<ns>/<name>`: the snapshot the ingress reads. A broker
   * whose backend is unreachable stays routable, so producers get 503 + Retry-After (retry later), not 404.
   */
  readonly #routable = new Map<string, { broker: BrokerRef; backend: EventBackend }>();
  /** Last health seen per backend, to re-reconcile its brokers when it changes. */
  readonly #health = new Map<EventBackend, boolean>();
  #healthTimer: Timer | undefined;
  /** Brokers whose storage was created, by `<ns>/<name>`, to delete it when the Broker goes. */
  readonly #ensured = new Map<string, EventBackend>();
  /** Triggers handed to the dispatcher, by `<ns>/<name>`, with what they were handed with. */
  readonly #published = new Map<string, string>();
  readonly #retries = new Map<string, Timer>();
  readonly #unsubscribe: (() => void)[] = [];
  /** What each Trigger and Broker (by queue key) points at, from the store's events. */
  readonly #refs = new ReferrerIndex();
  /** The queue key whose status this reconciler is writing: its own write does not queue it again. */
  #writing: string | undefined;
  /** Latest backlog of every trigger of the backends that cap it (polled with the health check). */
  #backlog: readonly TriggerBacklog[] = [];
  /** Per broker, the triggers at their limit as last reported in its status (comma list), to notice changes. */
  readonly #fullSeen = new Map<string, string>();
  #polling = false;

  constructor(options: EventingReconcilerOptions) {
    this.#o = options;
    this.#queue = new WorkQueue({
      handler: (key) => this.#reconcile(key),
      onError: (key, err) => options.onError?.(`reconcile ${key.replace(':', ' ')}`, err),
      // A status write refused while the API server is away (Kubernetes mode) is done again once it is back.
      retry: { clock: options.clock, initialMs: 100, maxMs: 10_000 },
    });
    this.#lookup = {
      service: (ns, name) => options.store.get(SERVICES, ns, name),
      broker: (ns, name) => options.store.get(BROKERS, ns, name),
      ...(options.coreServices && { coreService: (ns: string, name: string) => options.coreServices!.service(ns, name) }),
    };
  }

  /** Starts watching and reconciles every Broker and Trigger already in the store. */
  start(): void {
    this.#unsubscribe.push(this.#o.store.watch((ev) => this.#onEvent(ev)));
    const core = this.#o.coreServices;
    if (core) this.#unsubscribe.push(core.watch((namespace, name) => this.#requeueReferrers({ kind: 'Service', namespace, name })));
    for (const b of this.#o.store.list(BROKERS)) {
      const key = `broker:${b.metadata.namespace}/${b.metadata.name}`;
      this.#refs.set(key, brokerTargets(b));
      this.#queue.add(key);
    }
    for (const t of this.#o.store.list(TRIGGERS)) {
      const key = `trigger:${t.metadata.namespace}/${t.metadata.name}`;
      this.#refs.set(key, triggerTargets(t));
      this.#queue.add(key);
    }
    void this.#queue.idle().then(() => (this.#synced = true));
    this.#healthTimer = this.#o.clock.setInterval(() => this.#checkHealth(), this.#o.healthIntervalMs ?? 2000);
  }

  /** A backend that lost (or regained) its server: reconcile its brokers, whose status says why. */
  #checkHealth(): void {
    for (const backend of this.#o.backends) {
      if (!backend.health) continue;
      const ok = backend.health().ok;
      // Brokers were reconciled as if their backend were healthy: the first check that says otherwise counts as a change.
      const before = this.#health.get(backend) ?? true;
      this.#health.set(backend, ok);
      if (before === ok) continue;
      for (const [key, entry] of this.#routable) if (entry.backend === backend) this.#queue.add(`broker:${key}`);
    }
    void this.#pollBacklog();
  }

  /** Asks every capping backend for its backlog; a broker whose set of full triggers changed is reconciled. */
  async #pollBacklog(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const all: TriggerBacklog[] = [];
      for (const backend of this.#o.backends) {
        if (!backend.backlog || backend.health?.().ok === false) continue;
        try {
          all.push(...(await backend.backlog()));
        } catch {
          // Unreachable store: its health check reports it; the last numbers stand meanwhile.
          all.push(...this.#backlog.filter((b) => this.#routable.get(b.broker)?.backend === backend));
        }
      }
      this.#backlog = all;
      for (const key of this.#routable.keys()) {
        if (fullSignature(this.#fullOf(key)) !== (this.#fullSeen.get(key) ?? '')) this.#queue.add(`broker:${key}`);
      }
    } finally {
      this.#polling = false;
    }
  }

  #fullOf(broker: string): TriggerBacklog[] {
    return this.#backlog.filter((b) => b.broker === broker && b.events >= b.limit);
  }

  /** Events waiting per trigger, as last polled (every healthIntervalMs), for the backlog gauge. */
  backlogSnapshot(): readonly TriggerBacklog[] {
    return this.#backlog;
  }

  /**
   * True once every Broker and Trigger that was in the store at start has been reconciled once (each ready
   * Trigger subscribed). Before that an accepted event could miss a Trigger that is not subscribed yet.
   */
  get synced(): boolean {
    return this.#synced;
  }

  /** Resolves when every change so far has been reconciled. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  stop(): void {
    this.#healthTimer?.cancel();
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const t of this.#retries.values()) t.cancel();
    this.#retries.clear();
    this.#queue.close();
  }

  /**
   * A broker and the backend that stores its events; undefined when unknown or of a class this process cannot
   * serve (the ingress answers 404). A broker whose backend is down is returned: publishing fails with 503.
   */
  lookupBroker(namespace: string, name: string): { broker: BrokerRef; backend: EventBackend } | undefined {
    return this.#routable.get(`${namespace}/${name}`);
  }

  #onEvent(ev: WatchEvent): void {
    const { namespace, name } = ev.object.metadata;
    if (isKind(ev, BROKERS)) {
      const key = `broker:${namespace}/${name}`;
      if (ev.type === 'DELETED') this.#refs.delete(key);
      else this.#refs.set(key, brokerTargets(ev.object));
      if (this.#writing !== key) this.#queue.add(key);
      this.#requeueTriggersOf(namespace, name);
      this.#requeueReferrers({ kind: 'Broker', namespace, name });
    } else if (isKind(ev, TRIGGERS)) {
      const key = `trigger:${namespace}/${name}`;
      if (ev.type === 'DELETED') this.#refs.delete(key);
      else this.#refs.set(key, triggerTargets(ev.object));
      if (this.#writing !== key) this.#queue.add(key);
    } else if (isKind(ev, SERVICES)) {
      this.#requeueReferrers({ kind: 'Service', namespace, name });
    }
  }

  #requeueTriggersOf(namespace: string, broker: string): void {
    for (const key of this.#refs.referrers(memberKey(namespace, broker))) this.#queue.add(key);
  }

  /** Triggers and Brokers whose subscriber or dead-letter sink points at `target`. */
  #requeueReferrers(target: { kind: string; namespace: string; name: string }): void {
    for (const key of this.#refs.referrers(targetKey(target.kind, target.namespace, target.name))) this.#queue.add(key);
  }

  #retryLater(queueKey: string): void {
    if (this.#retries.has(queueKey)) return;
    this.#retries.set(
      queueKey,
      this.#o.clock.setTimeout(() => {
        this.#retries.delete(queueKey);
        this.#queue.add(queueKey);
      }, this.#o.retryDelayMs ?? 1000),
    );
  }

  async #reconcile(queueKey: string): Promise<void> {
    const colon = queueKey.indexOf(':');
    const what = queueKey.slice(0, colon);
    const [namespace = '', name = ''] = queueKey.slice(colon + 1).split('/');
    if (what === 'broker') await this.#reconcileBroker(namespace, name);
    else await this.#reconcileTrigger(namespace, name);
  }

  #resolveDeadLetter(dest: Destination | undefined, namespace: string): DeadLetterState {
    if (!dest) return { kind: 'none' };
    const r = resolveDestination(dest, namespace, this.#lookup);
    return r.ok ? { kind: 'resolved', uri: r.uri } : { kind: 'failed', reason: DLS_FAILED, message: r.message };
  }

  async #reconcileBroker(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const ref: BrokerRef = { namespace, name };
    const broker = this.#o.store.get(BROKERS, namespace, name);
    if (!broker) {
      this.#ready.delete(key);
      this.#routable.delete(key);
      this.#fullSeen.delete(key);
      const backend = this.#ensured.get(key);
      if (backend) {
        if (this.#o.deletesStorage?.(backend) ?? true) await backend.deleteBroker(ref);
        this.#ensured.delete(key);
      }
      this.#requeueTriggersOf(namespace, name);
      return;
    }
    const brokerClass = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION] ?? this.#o.defaultBrokerClass;
    const backend = this.#o.backends.find((b) => b.classes.includes(brokerClass));
    let state: BrokerBackendState;
    const settings = brokerSettings(this.#o.store, broker);
    const cap = maxBacklogOf(broker.metadata.annotations);
    const maxBacklog = cap.limit ?? this.#o.defaultMaxBacklog;
    if (maxBacklog !== undefined && !UNCAPPED_BROKER_CLASSES.includes(brokerClass)) settings.maxBacklog = maxBacklog;
    if (!backend) {
      const available = [...new Set(this.#o.backends.flatMap((b) => b.classes))];
      state = { kind: 'class-not-available', brokerClass, available };
    } else {
      const health = backend.health?.();
      try {
        // A backend known to be down is not asked (its calls could wait for a connection); the health check
        // reconciles the broker again when the backend is back.
        if (health && !health.ok) throw new Error(health.reason ?? 'not connected');
        await backend.ensureBroker(ref, settings);
        this.#ensured.set(key, backend);
        state = { kind: 'ready', url: `${this.#o.brokerIngressUrl.replace(/\/+$/, '')}/${namespace}/${name}` };
      } catch (err) {
        state = { kind: 'backend-failed', brokerClass, message: err instanceof Error ? err.message : String(err) };
        this.#retryLater(`broker:${key}`);
      }
    }
    const deadLetter = this.#resolveDeadLetter((broker.spec as BrokerSpec | undefined)?.delivery?.deadLetterSink, namespace);
    const full = this.#fullOf(key);
    this.#fullSeen.set(key, fullSignature(full));
    const backlog: BrokerBacklogState = UNCAPPED_BROKER_CLASSES.includes(brokerClass)
      ? { kind: 'unlimited', brokerClass }
      : {
          kind: 'limited',
          limit: this.#backlog.find((b) => b.broker === key)?.limit ?? maxBacklog ?? DEFAULT_MAX_BACKLOG,
          full,
          ...(cap.problem !== undefined ? { annotationProblem: `annotation ${MAX_BACKLOG_ANNOTATION} ignored: ${cap.problem}` } : {}),
        };
    const status = brokerStatus({
      generation: broker.metadata.generation ?? 1,
      backend: state,
      deadLetter,
      backlog,
      previous: (broker.status as { conditions?: Condition[] } | undefined)?.conditions,
      now: this.#o.clock.now(),
    });
    const wasReady = this.#ready.has(key);
    const isReady = backend !== undefined && getCondition(status.conditions, 'Ready')?.status === 'True';
    if (isReady) this.#ready.set(key, { broker: ref, backend });
    else this.#ready.delete(key);
    // Routable when Ready, and through a backend outage (producers get 503 and retry, rather than 404).
    if (backend && (isReady || state.kind === 'backend-failed')) this.#routable.set(key, { broker: ref, backend });
    else this.#routable.delete(key);
    // Still there? A delete may have raced with the backend call.
    if (!this.#o.store.get(BROKERS, namespace, name)) return this.#reconcileBroker(namespace, name);
    await this.#writeStatus(BROKERS, `broker:${key}`, namespace, name, status);
    if (wasReady !== isReady) this.#requeueTriggersOf(namespace, name);
  }

  async #writeStatus(info: KindInfo, queueKey: string, namespace: string, name: string, status: unknown): Promise<void> {
    if (this.#o.writeStatus === false) return;
    this.#writing = queueKey;
    try {
      await this.#o.store.updateStatus(info, namespace, name, status);
    } finally {
      this.#writing = undefined;
    }
  }

  async #unpublish(key: string): Promise<void> {
    if (!this.#published.has(key)) return;
    this.#published.delete(key);
    await this.#o.dispatcher.removeTrigger(key);
  }

  async #reconcileTrigger(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const trigger = this.#o.store.get(TRIGGERS, namespace, name);
    if (!trigger) return this.#unpublish(key);
    const spec = (trigger.spec ?? {}) as Partial<TriggerSpec>;
    const outcome = await this.#triggerOutcome(key, trigger, spec);
    if (!outcome.published && !outcome.keep) await this.#unpublish(key);
    if (!this.#o.store.get(TRIGGERS, namespace, name)) return this.#unpublish(key);
    const status = triggerStatus({
      generation: trigger.metadata.generation ?? 1,
      conditions: outcome.conditions,
      ...(outcome.subscriberUri !== undefined ? { subscriberUri: outcome.subscriberUri } : {}),
      ...(outcome.deadLetterSinkUri !== undefined ? { deadLetterSinkUri: outcome.deadLetterSinkUri } : {}),
      previous: (trigger.status as { conditions?: Condition[] } | undefined)?.conditions,
      now: this.#o.clock.now(),
    });
    await this.#writeStatus(TRIGGERS, `trigger:${key}`, namespace, name, status);
  }

  /** Resolves everything a Trigger needs and hands it to the dispatcher; reports the conditions on the way. */
  async #triggerOutcome(
    key: string,
    trigger: KObject,
    spec: Partial<TriggerSpec>,
  ): Promise<{ conditions: TriggerConditionInput; published: boolean; keep?: boolean; subscriberUri?: string; deadLetterSinkUri?: string }> {
    const namespace = trigger.metadata.namespace;
    const brokerName = spec.broker ?? '';
    const broker = this.#o.store.get(BROKERS, namespace, brokerName);
    if (!broker) {
      return {
        published: false,
        conditions: { broker: { type: 'BrokerReady', status: 'False', reason: 'BrokerDoesNotExist', message: `Broker "${brokerName}" does not exist` } },
      };
    }
    const entry = this.#ready.get(`${namespace}/${brokerName}`);
    const brokerReady = getCondition((broker.status as { conditions?: Condition[] } | undefined)?.conditions, 'Ready');
    if (!entry || brokerReady?.status !== 'True') {
      // Ready in the store but not served yet (a restart before the Broker's own reconcile): not configured yet.
      const stale = !entry && brokerReady?.status === 'True';
      // A backend outage is temporary: the trigger keeps its durable subscription (its queued events) meanwhile.
      const keep = brokerReady?.reason === 'BackendUnavailable' && this.#published.has(key);
      return { published: false, keep, conditions: { broker: propagateBroker(stale ? undefined : brokerReady) } };
    }
    const conditions: TriggerConditionInput = { broker: { type: 'BrokerReady', status: 'True' } };

    const sub = spec.subscriber ? resolveDestination(spec.subscriber, namespace, this.#lookup) : { ok: false as const, message: 'spec.subscriber is not set' };
    if (!sub.ok) {
      conditions.subscriber = { type: 'SubscriberResolved', status: 'False', reason: SUBSCRIBER_FAILED, message: sub.message };
      return { published: false, conditions };
    }
    conditions.subscriber = { type: 'SubscriberResolved', status: 'True' };

    const delivery = effectiveDelivery((broker.spec as BrokerSpec | undefined)?.delivery, spec.delivery);
    const deadLetter = this.#resolveDeadLetter(delivery?.deadLetterSink, namespace);
    conditions.deadLetter = deadLetterCondition(deadLetter);
    const deadLetterUri = deadLetter.kind === 'resolved' ? deadLetter.uri : undefined;
    const base = { subscriberUri: sub.uri, ...(deadLetterUri !== undefined ? { deadLetterSinkUri: deadLetterUri } : {}) };
    if (deadLetter.kind === 'failed') return { published: false, conditions, ...base };

    let resolved: ResolvedDelivery;
    try {
      resolved = resolveDelivery(delivery, deadLetterUri);
    } catch (err) {
      conditions.subscription = { type: 'SubscriptionReady', status: 'False', reason: 'DeliveryInvalid', message: err instanceof Error ? err.message : String(err) };
      return { published: false, conditions, ...base };
    }
    const maxInFlight = maxInFlightOf(trigger.metadata.annotations);
    const ordered = trigger.metadata.annotations?.[DELIVERY_ORDER_ANNOTATION] === 'ordered';
    const signature = JSON.stringify({
      backend: this.#o.backends.indexOf(entry.backend),
      broker: brokerName,
      subscriberUri: sub.uri,
      delivery: resolved,
      maxInFlight,
      ordered,
      filter: spec.filter ?? null,
      filters: spec.filters ?? null,
    });
    if (this.#published.get(key) !== signature) {
      let filter: TriggerRuntime['filter'];
      try {
        filter = compileTriggerFilter({ ...(spec.filter ? { filter: spec.filter } : {}), ...(spec.filters ? { filters: spec.filters } : {}) });
      } catch (err) {
        conditions.subscription = { type: 'SubscriptionReady', status: 'False', reason: 'FilterInvalid', message: err instanceof Error ? err.message : String(err) };
        return { published: false, conditions, ...base };
      }
      const runtime: TriggerRuntime = {
        key,
        namespace,
        name: trigger.metadata.name,
        broker: brokerName,
        filter,
        subscriberUri: sub.uri,
        delivery: resolved,
        maxInFlight,
        ordered,
      };
      try {
        await this.#o.dispatcher.upsertTrigger(runtime, entry.backend);
        this.#published.set(key, signature);
      } catch (err) {
        this.#o.onError?.(`subscribe trigger ${key}`, err);
        this.#retryLater(`trigger:${key}`);
        conditions.subscription = { type: 'SubscriptionReady', status: 'False', reason: 'NotSubscribed', message: err instanceof Error ? err.message : String(err) };
        // A failed (re)subscribe is retried; whatever subscription the trigger had stays meanwhile.
        return { published: false, keep: true, conditions, ...base };
      }
    }
    conditions.subscription = { type: 'SubscriptionReady', status: 'True' };
    return { published: true, conditions, ...base };
  }
}

/** Knative's PropagateBrokerCondition: the broker's Ready condition becomes the trigger's BrokerReady. */
function propagateBroker(ready: Condition | undefined): DesiredCondition {
  if (!ready) return { type: 'BrokerReady', status: 'Unknown', reason: 'BrokerNotConfigured', message: 'Broker has not yet been reconciled.' };
  const out: DesiredCondition = { type: 'BrokerReady', status: ready.status };
  if (ready.reason) out.reason = ready.reason;
  if (ready.message) out.message = ready.message;
  return out;
}

function fullSignature(full: readonly TriggerBacklog[]): string {
  return full.map((t) => t.trigger).join(',');
}

/** Topic settings from the ConfigMap a Broker's `spec.config` names (Knative's kafka-broker-config keys). */
function brokerSettings(store: ResourceReader, broker: KObject): BrokerSettings {
  const ref = (broker.spec as BrokerSpec | undefined)?.config;
  if (!ref || ref.kind !== 'ConfigMap') return {};
  const cm = store.get(CONFIGMAPS, ref.namespace ?? broker.metadata.namespace, ref.name);
  const num = (key: string): number | undefined => {
    const v = cm?.data?.[key];
    return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : undefined;
  };
  const out: BrokerSettings = {};
  const partitions = num('default.topic.partitions');
  const replicationFactor = num('default.topic.replication.factor');
  if (partitions !== undefined) out.partitions = partitions;
  if (replicationFactor !== undefined) out.replicationFactor = replicationFactor;
  return out;
}
