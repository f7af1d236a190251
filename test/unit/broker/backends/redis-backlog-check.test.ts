/** The Redis class's cap decision (broker/backends/redis/backlog.ts), pure: the script's reply, room for a batch, reservations. */
import { describe, expect, it } from 'vitest';
import { checkRoom, parseBacklogReply, Reservations } from '../../../../broker/backends/redis/backlog.js';
import { BackendFullError, BatchTooLargeError } from '../../../../broker/errors.js';

describe('Redis backlog check', () => {
  it('parses the script reply: unknown broker, no triggers, triggers with their waiting events', () => {
    expect(parseBacklogReply([0])).toEqual({ known: false, queues: [] });
    expect(parseBacklogReply([1])).toEqual({ known: true, queues: [] });
    expect(parseBacklogReply([1, 'ns/a', 'qa', 3, 'ns/b', 'qb', 0])).toEqual({
      known: true,
      queues: [{ trigger: 'ns/a', queue: 'qa', waiting: 3 }, { trigger: 'ns/b', queue: 'qb', waiting: 0 }],
    });
    expect(() => parseBacklogReply('OK')).toThrow(TypeError);
  });

  it('room for the whole batch in every queue, counting this process\'s reservations', () => {
    const queues = [{ trigger: 'ns/a', queue: 'qa', waiting: 5 }, { trigger: 'ns/b', queue: 'qb', waiting: 8 }];
    const r = new Reservations();
    expect(() => checkRoom('ns/b1', queues, (q) => r.of(q), 2, 10)).not.toThrow();
    r.take(['qa', 'qb'], 2);
    const err = (() => {
      try {
        checkRoom('ns/b1', queues, (q) => r.of(q), 1, 10);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(BackendFullError);
    expect(err).toMatchObject({ trigger: 'ns/b', waiting: 10, limit: 10 });
    r.release(['qa', 'qb'], 2);
    expect(r.of('qb')).toBe(0);
    expect(() => checkRoom('ns/b1', queues, () => 0, 11, 10)).toThrow(BatchTooLargeError);
    expect(() => checkRoom('ns/b1', [], () => 0, 11, 10)).not.toThrow(); // no trigger: nothing is stored anyway
  });
});
