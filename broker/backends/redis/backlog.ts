/**
 * The Redis class's backlog cap: how many events wait in each Trigger's queue, counted IN REDIS (so every Wisp
 * process sharing the Redis sees the same numbers), and whether a batch still fits. Pure apart from the Lua text,
 * which the backend runs; no I/O here.
 *
 * Counting costs no extra round trip: `publish` always had to read the broker's trigger hash before adding (one
 * pipelined SISMEMBER + HVALS); BACKLOG_SCRIPT replaces those two commands with one EVALSHA that also returns, per
 * queue, LLEN wait + LLEN paused + ZCARD prioritized + ZCARD delayed (BullMQ's own keys, see keys.ts). Jobs being
 * delivered (`active`, at most maxInFlight per consumer) are not counted, as Memory does not count its slots.
 *
 * Check and add are two steps, so the cap can be overshot, by a bounded amount:
 * - within one process, never by more than the count of a concurrent publish that Redis already stored but whose
 *   reservation is still held (that is counted twice: the check errs on the side of refusing, near the cap only);
 *   reservations are taken synchronously when the count arrives and released when the add is acknowledged;
 * - across processes, by at most the events the OTHER processes have between their count and their add (one Redis
 *   round trip): their in-flight publishes. With P processes each publishing k requests of b events concurrently,
 *   a queue holds at most limit + (P − 1) × k × b events (test/integration/broker/redis-backlog.test.ts checks it).
 */
import { BackendFullError, BatchTooLargeError } from '../../errors.js';

/**
 * KEYS[1] = the installation's brokers SET, KEYS[2] = the broker's trigger HASH; ARGV[1] = broker id,
 * ARGV[2] = BullMQ's key prefix (`<p>:bull`). Returns `{0}` for an unknown broker, else
 * `{1, trigger1, queue1, waiting1, trigger2, ...}`. Reads only (the queue keys are derived from the hash, so this
 * runs on a single Redis, not on Redis Cluster, like the rest of the class).
 */
export const BACKLOG_SCRIPT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {0} end
local pairs = redis.call('HGETALL', KEYS[2])
local out = {1}
for i = 1, #pairs, 2 do
  local q = ARGV[2] .. ':' .. pairs[i + 1] .. ':'
  local n = redis.call('LLEN', q .. 'wait') + redis.call('LLEN', q .. 'paused')
    + redis.call('ZCARD', q .. 'prioritized') + redis.call('ZCARD', q .. 'delayed')
  out[#out + 1] = pairs[i]
  out[#out + 1] = pairs[i + 1]
  out[#out + 1] = n
end
return out
`;

export interface QueueBacklog {
  /** `<ns>/<trigger>` */
  trigger: string;
  /** The BullMQ queue name of its subscription. */
  queue: string;
  /** Events waiting in Redis (wait + paused + prioritized + delayed). */
  waiting: number;
}

/** The script's reply; throws a TypeError on anything else (a bug or a foreign script under the same name). */
export function parseBacklogReply(reply: unknown): { known: boolean; queues: QueueBacklog[] } {
  if (!Array.isArray(reply) || reply.length === 0) throw new TypeError('backlog script: unexpected reply');
  if (Number(reply[0]) !== 1) return { known: false, queues: [] };
  const queues: QueueBacklog[] = [];
  for (let i = 1; i + 2 < reply.length; i += 3) {
    queues.push({ trigger: String(reply[i]), queue: String(reply[i + 1]), waiting: Number(reply[i + 2]) });
  }
  return { known: true, queues };
}

/**
 * Throws when the batch cannot be stored whole: BatchTooLargeError if it is larger than the limit itself,
 * BackendFullError naming the first trigger whose waiting events (+ this process's reservations) leave no room.
 */
export function checkRoom(broker: string, queues: readonly QueueBacklog[], reserved: (queue: string) => number, batch: number, limit: number): void {
  if (queues.length === 0) return;
  if (batch > limit) throw new BatchTooLargeError(broker, batch, limit, `the backlog limit of trigger ${(queues[0] as QueueBacklog).trigger}`);
  for (const q of queues) {
    const waiting = q.waiting + reserved(q.queue);
    if (waiting + batch > limit) throw new BackendFullError(broker, q.trigger, limit, waiting);
  }
}

/** Events this process is adding to each queue right now (counted, not yet acknowledged). */
export class Reservations {
  readonly #n = new Map<string, number>();

  of(queue: string): number {
    return this.#n.get(queue) ?? 0;
  }

  take(queues: readonly string[], n: number): void {
    for (const q of queues) this.#n.set(q, this.of(q) + n);
  }

  release(queues: readonly string[], n: number): void {
    for (const q of queues) {
      const left = this.of(q) - n;
      if (left > 0) this.#n.set(q, left);
      else this.#n.delete(q);
    }
  }
}
