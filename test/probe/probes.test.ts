/**
 * The probes as regression tests: each runs for a few seconds against its own `wisp up` and every invariant it
 * checks must hold. The crash probe (whose drain may wait ~35 s for BullMQ to recover a killed worker's job) runs
 * alongside the others, so the file stays under about a minute. Needs `npm run build` (npm test does it first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeCrash } from './crash.js';
import { probeFlood } from './flood.js';
import { probeFuzz } from './fuzz.js';
import { probeOverload } from './overload.js';
import { failed, formatReport, type ProbeReport } from './lib/report.js';
import { probeSubscriber } from './subscriber.js';

function expectInvariants(r: ProbeReport): void {
  const broken = failed(r).map((i) => i.name);
  expect(broken, formatReport(r)).toEqual([]);
}

describe('probes (short runs against a real wisp up)', () => {
  let crash: Promise<ProbeReport>;
  beforeAll(() => {
    crash = probeCrash({ durationS: 4, rate: 150 });
    // Reported by the last test; a rejection must not go unhandled meanwhile.
    crash.catch(() => undefined);
  });
  afterAll(async () => {
    await crash.catch(() => undefined);
  }, 90_000);

  it('fuzz: no crash, no 5xx, expected answers, nothing lost, bytes exact, auth', async () => {
    expectInvariants(await probeFuzz({ durationS: 5 }));
  }, 90_000);

  it('faulty subscriber: every accepted event delivered or dead-lettered (Memory, Redis)', async () => {
    expectInvariants(await probeSubscriber({ durationS: 4, rate: 60 }));
  }, 90_000);

  it('overload: 503 + Retry-After past the backlog cap, Redis bounded, nothing lost, refused batches never delivered', async () => {
    expectInvariants(await probeOverload({ durationS: 5, backlog: 500 }));
  }, 90_000);

  it('slow-connection flood: another client keeps being served, slow headers are cut', async () => {
    expectInvariants(await probeFlood({ durationS: 8, connections: 600 }));
  }, 90_000);

  it('kill -9 mid-stream: nothing accepted on Redis is lost', async () => {
    expectInvariants(await crash);
  }, 90_000);
});
