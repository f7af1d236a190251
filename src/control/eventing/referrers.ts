/**
 * Which Triggers and Brokers point at which objects, kept from the store's watch events: a change of a Service (or
 * Broker) finds the Triggers and Brokers that refer to it, and a Broker's change finds its Triggers, without
 * listing and copying every Trigger and Broker on each event. Applying N Services next to T Triggers was O(N × T)
 * copies that way (every Service status write listed all Triggers). Pure: no store, no clock.
 */
import type { BrokerSpec, Destination, TriggerSpec } from '../../../broker/types.js';
import type { KObject } from '../../api/types.js';

/** The index key of what `dest.ref` names, relative to `namespace` (as refersTo compares: kind, namespace, name). */
export function refTarget(dest: Destination | undefined, namespace: string): string | undefined {
  const ref = dest?.ref;
  return ref ? targetKey(ref.kind, ref.namespace ?? namespace, ref.name) : undefined;
}

export const targetKey = (kind: string, namespace: string, name: string): string => `${kind}\u0000${namespace}\u0000${name}`;

/** The key under which a broker's own Triggers are found (not a reference by `ref`: `spec.broker`). */
export const memberKey = (namespace: string, broker: string): string => `\u0001broker\u0000${namespace}\u0000${broker}`;

/** What a Trigger points at: its broker, its subscriber's and dead-letter sink's refs. */
export function triggerTargets(trigger: KObject): string[] {
  const spec = trigger.spec as Partial<TriggerSpec> | undefined;
  const ns = trigger.metadata.namespace;
  const out: string[] = [];
  if (typeof spec?.broker === 'string') out.push(memberKey(ns, spec.broker));
  for (const t of [refTarget(spec?.subscriber, ns), refTarget(spec?.delivery?.deadLetterSink, ns)]) if (t !== undefined) out.push(t);
  return out;
}

/** What a Broker points at: its dead-letter sink's ref. */
export function brokerTargets(broker: KObject): string[] {
  const t = refTarget((broker.spec as BrokerSpec | undefined)?.delivery?.deadLetterSink, broker.metadata.namespace);
  return t === undefined ? [] : [t];
}

export class ReferrerIndex {
  readonly #byTarget = new Map<string, Set<string>>();
  readonly #targetsOf = new Map<string, readonly string[]>();

  /** `owner` (a queue key) now points at `targets` (and at nothing else). */
  set(owner: string, targets: readonly string[]): void {
    this.delete(owner);
    if (targets.length === 0) return;
    this.#targetsOf.set(owner, targets);
    for (const t of targets) {
      let owners = this.#byTarget.get(t);
      if (owners === undefined) this.#byTarget.set(t, (owners = new Set()));
      owners.add(owner);
    }
  }

  delete(owner: string): void {
    const old = this.#targetsOf.get(owner);
    if (old === undefined) return;
    this.#targetsOf.delete(owner);
    for (const t of old) {
      const owners = this.#byTarget.get(t);
      owners?.delete(owner);
      if (owners?.size === 0) this.#byTarget.delete(t);
    }
  }

  /** The owners pointing at `target`. */
  referrers(target: string): string[] {
    return [...(this.#byTarget.get(target) ?? [])];
  }
}
