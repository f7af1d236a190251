/**
 * The autoscaler's stats endpoint and the activator's RemoteReporter over real HTTP on a free port: batching,
 * pokes, the sources added up by the real Autoscaler's buckets, and precise refusals of bad bodies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteReporter, STATS_PER_REPORT } from '../../../activator/index.js';
import { ACTIVATOR_TTL_MS, MAX_STATS_PER_REPORT, buildStatsServer, type StatsSink } from '../../../autoscaler/index.js';
import { ManualClock } from '../../support/clock.js';

interface Recorded {
  reports: { key: string; concurrency: number; now: number; source: string | undefined }[];
  pokes: string[];
}

function recordingSink(): StatsSink & Recorded {
  const r: Recorded = { reports: [], pokes: [] };
  return {
    ...r,
    report: (key, concurrency, now, source) => void r.reports.push({ key, concurrency, now, source }),
    poke: (key) => void r.pokes.push(key),
  };
}

const servers: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(sink: StatsSink, clock: ManualClock = new ManualClock(5_000)) {
  const app = buildStatsServer({ sink, clock });
  await app.listen({ port: 0, host: '127.0.0.1' });
  servers.push(app);
  const addr = app.server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

describe('autoscaler stats endpoint + RemoteReporter', () => {
  it("one POST per second's round of reports, stamped with the autoscaler's clock and the reporter's name; a poke at once", async () => {
    const sink = recordingSink();
    const url = await start(sink);
    const calls: string[] = [];
    const heard: string[][] = [];
    const reporter = new RemoteReporter({
      url: `${url}/`,
      source: 'activator-a',
      onActivators: (names) => heard.push(names),
      fetch: (input, init) => {
        calls.push(String(input));
        return fetch(input, init);
      },
    });
    reporter.report('default/hello-00001', 1.5, 0);
    reporter.report('default/other-00002', 0, 0);
    reporter.flush();
    reporter.poke('default/cold-00001');
    await reporter.settled();
    expect(calls.sort()).toEqual([`${url}/v1/poke`, `${url}/v1/stats`]);
    expect(sink.reports).toEqual([
      { key: 'default/hello-00001', concurrency: 1.5, now: 5_000, source: 'activator-a' },
      { key: 'default/other-00002', concurrency: 0, now: 5_000, source: 'activator-a' },
    ]);
    expect(sink.pokes).toEqual(['default/cold-00001']);
    // Each report is answered with the activators heard from lately: the reporter's share comes from it.
    expect(heard).toEqual([['activator-a']]);
    const other = new RemoteReporter({ url, source: 'activator-b', onActivators: (names) => heard.push(names) });
    other.report('default/hello-00001', 1, 0);
    other.flush();
    await other.settled();
    expect(heard.at(-1)).toEqual(['activator-a', 'activator-b']);
    await other.close();
    // Nothing reported: nothing sent.
    reporter.flush();
    await reporter.settled();
    expect(calls).toHaveLength(2);
    expect(sink.reports).toHaveLength(3);
    await reporter.close();
  });

  it('refuses bodies that are not stats with 400 and the reason; other paths 404, other methods 405', async () => {
    const sink = recordingSink();
    const url = await start(sink);
    const post = (path: string, body: string) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const cases: [string, string, RegExp][] = [
      ['/v1/stats', '{"source":"a"}', /must have required property 'stats'/],
      ['/v1/stats', '{"source":"a","stats":[{"key":"default/x","concurrency":-1}]}', /concurrency.*must be >= 0/],
      ['/v1/stats', '{"source":"a","stats":[{"key":"no-slash","concurrency":1}]}', /key.*must match pattern/],
      ['/v1/stats', '{"source":"a","stats":[{"key":"default/x","concurrency":"1"}]}', /concurrency.*must be number/],
      ['/v1/poke', '{"source":"a","key":"default/x","extra":1}', /must NOT have additional properties/],
      ['/v1/poke', '{not json', /Unexpected|JSON/i],
    ];
    for (const [path, body, why] of cases) {
      const res = await post(path, body);
      expect(res.status, body).toBe(400);
      expect(await res.text(), body).toMatch(why);
    }
    expect(sink.reports).toEqual([]);
    expect(sink.pokes).toEqual([]);
    expect((await post('/v2/stats', '{}')).status).toBe(404);
    const get = await fetch(`${url}/v1/stats`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('an autoscaler that is away: the reporter logs once, keeps going, and says when it answers again', async () => {
    const warnings: string[] = [];
    const infos: string[] = [];
    let up = false;
    const sink = recordingSink();
    const url = await start(sink);
    const reporter = new RemoteReporter({
      url,
      source: 'a',
      logger: { warn: (m) => warnings.push(m), info: (m) => infos.push(m) },
      fetch: (input, init) => (up ? fetch(input, init) : Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }))),
    });
    for (let i = 0; i < 3; i++) {
      reporter.report('default/x', 1, 0);
      reporter.flush();
      await reporter.settled();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/did not take stats \(fetch failed: connect ECONNREFUSED\); retrying every second/);
    up = true;
    reporter.report('default/x', 2, 0);
    reporter.flush();
    await reporter.settled();
    expect(infos).toEqual([`activator: the autoscaler at ${url} takes stats again`]);
    expect(sink.reports.map((r) => r.concurrency)).toEqual([2]);
    await reporter.close();
  });
});

describe('many revisions', () => {
  it('more active revisions than one report takes go in several reports, all taken', async () => {
    const sink = recordingSink();
    const url = await start(sink);
    const reporter = new RemoteReporter({ url, source: 'a' });
    const n = MAX_STATS_PER_REPORT * 2 + 5;
    for (let i = 0; i < n; i++) reporter.report(`default/rev-${i}`, 1, 0);
    reporter.flush();
    await reporter.settled();
    expect(sink.reports).toHaveLength(n);
    expect(STATS_PER_REPORT).toBe(MAX_STATS_PER_REPORT);
    await reporter.close();
  });
});

describe('the activators the autoscaler names', () => {
  it('forgets an activator that stopped reporting for more than ACTIVATOR_TTL_MS', async () => {
    const clock = new ManualClock(5_000);
    const url = await start(recordingSink(), clock);
    const report = async (source: string): Promise<string[]> => {
      const res = await fetch(`${url}/v1/stats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source, stats: [] }) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { activators: string[] }).activators;
    };
    expect(await report('b')).toEqual(['b']);
    expect(await report('a')).toEqual(['a', 'b']);
    clock.advance(ACTIVATOR_TTL_MS + 1);
    expect(await report('a')).toEqual(['a']);
  });
});
