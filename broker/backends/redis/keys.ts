/**
 * Every Redis key name the Redis broker class uses, in one place. Pure: no I/O.
 *
 * Layout, for installation prefix `<p>` (option `prefix`, default `wisp`):
 *
 *   <p>:brokers                              SET   `<ns>/<broker>` of every broker whose storage exists
 *                                                  (`ensureBroker` adds, `deleteBroker` removes); publish to a
 *                                                  broker not in it → BrokerNotFoundError
 *   <p>:broker:<ns>/<broker>:triggers        HASH  `<ns>/<trigger>` → its queue name: the broker's durable
 *                                                  subscriptions (`subscribe` adds with HSETNX, so a restarted
 *                                                  consumer finds its queue; `unsubscribe`/`deleteBroker` remove);
 *                                                  `publish` fans out to exactly these queues
 *   <p>:bull:<queue>:*                       BullMQ's own keys of one Trigger's queue (BullMQ `prefix` option =
 *                                                  `<p>:bull`): `wait`, `active`, `delayed`, `marker`, `meta`, `id`,
 *                                                  `events` (stream, capped), `stalled-check`, one hash per job
 *                                                  (`<queue>:<jobId>`, removed on completion) and its `:lock`
 *
 * `<queue>` = queueName(broker, trigger, epoch) = `<ns>/<broker>/<trigger name>/<epoch>`, each part URI-encoded
 * (BullMQ forbids ':' in queue names; Kubernetes names never contain ':' or '/', so encoding changes nothing for
 * them). `epoch` is random per subscription lifetime: a publish that read the hash just before an `unsubscribe`
 * and adds its event late lands in the forgotten queue, never in the queue of a later subscription of the same
 * Trigger (that stray job's few keys stay behind until the broker is deleted: a known, bounded leak).
 *
 * The backlog cap (backlog.ts) counts a Trigger's waiting events in Redis from BullMQ's `wait`, `paused`,
 * `prioritized` and `delayed` keys of its queue, inside one Lua script that also reads `brokers` and the trigger hash.
 *
 * Everything lives under `<p>:`, so `SCAN MATCH <p>:*` finds (and a test deletes) all of an installation's keys.
 */
import type { BrokerRef } from '../../types.js';

export const DEFAULT_PREFIX = 'wisp';

export interface RedisKeys {
  /** The installation prefix, `<p>`. */
  readonly prefix: string;
  /** BullMQ's `prefix` option: `<p>:bull`. */
  readonly bullPrefix: string;
  /** SET of every broker with storage. */
  readonly brokers: string;
  /** SET of a broker's durable trigger keys. */
  triggers(broker: BrokerRef): string;
  /** Pattern matching every key of the installation (for SCAN). */
  readonly all: string;
}

export function redisKeys(prefix: string = DEFAULT_PREFIX): RedisKeys {
  if (prefix.length === 0) throw new TypeError('Redis key prefix must not be empty');
  return Object.freeze({
    prefix,
    bullPrefix: `${prefix}:bull`,
    brokers: `${prefix}:brokers`,
    triggers: (broker: BrokerRef) => `${prefix}:broker:${brokerId(broker)}:triggers`,
    all: `${prefix}:*`,
  });
}

/** `<ns>/<broker>`: a broker's member in the `brokers` set. */
export function brokerId(broker: BrokerRef): string {
  return `${broker.namespace}/${broker.name}`;
}

/** The BullMQ queue name of a trigger of a broker (`trigger` is `<ns>/<trigger>`, or a bare name), for one epoch. */
export function queueName(broker: BrokerRef, trigger: string, epoch: string): string {
  const own = `${broker.namespace}/`;
  // A trigger of the broker's namespace (always, in Knative) is named by its name; any other key keeps its
  // namespace, encoded (so its '/' becomes %2F and cannot collide with a bare name).
  const name = trigger.startsWith(own) && !trigger.slice(own.length).includes('/') ? trigger.slice(own.length) : trigger;
  return [broker.namespace, broker.name, name, epoch].map(encodeURIComponent).join('/');
}
