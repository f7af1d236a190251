/**
 * probe:subscriber — a faulty subscriber behind a Memory and a Redis broker. Each delivery attempt gets, at
 * random: 500 (30 %), 429 with Retry-After: 1 (10 %), a reset connection (10 %), a slow 202 after 150 ms
 * (10 %), no answer until the Trigger's 0.5 s timeout passed (5 %), else 202; 5 % of events are poison (always
 * 500). Triggers: retry 6, linear back-off 50 ms, timeout PT0.5S, retryAfterMax PT1S, a dead-letter sink.
 * Events are sent at --rate per second to each broker (default 100) for --duration seconds (default 20).
 * Invariant per class: every accepted (202) event is delivered (answered 2xx) or dead-lettered; duplicates are
 * counted (at-least-once allows them). Also: no crash, no ingress 5xx but 503 with Retry-After.
 */
import { isMain, parseProbeArgs, runAsScript } from './lib/cli.js';
import { binaryHeaders, post, until } from './lib/events.js';
import { keepAliveAgent } from './lib/http.js';
import { openLoop } from './lib/load.js';
import { Platform } from './lib/platform.js';
import { invariant, type Invariant, type ProbeReport, statusClass, Tally } from './lib/report.js';
import { type Action, lossAndDuplicates, ProbeSubscriber } from './lib/subscriber.js';

const CLASSES = ['Memory', 'Redis'] as const;
const DRAIN_MS = 60_000;

function faulty(poison: boolean): Action {
  if (poison) return { kind: 'answer', status: 500 };
  const r = Math.random();
  if (r < 0.3) return { kind: 'answer', status: 500 };
  if (r < 0.4) return { kind: 'answer', status: 429, headers: { 'retry-after': '1' } };
  if (r < 0.5) return { kind: 'reset' };
  if (r < 0.6) return { kind: 'answer', status: 202, delayMs: 150 };
  if (r < 0.65) return { kind: 'hang', ms: 1500 };
  return { kind: 'answer', status: 202 };
}

export async function probeSubscriber(opts: { durationS: number; rate?: number }): Promise<ProbeReport> {
  const started = performance.now();
  const rate = opts.rate ?? 100;
  const sub = await new ProbeSubscriber().start();
  const poison = new Set<string>();
  sub.policy = ({ path, id }) => (path.startsWith('/dls') ? { kind: 'answer', status: 202 } : faulty(poison.has(id)));
  // Dead-lettered events must say where and why they failed (knativeerrordest, knativeerrorcode).
  let dlqSeen = 0;
  let dlqWithoutError = 0;
  sub.inspect = (d) => {
    if (!d.path.startsWith('/dls')) return;
    dlqSeen++;
    if (d.headers['ce-knativeerrordest'] === undefined || d.headers['ce-knativeerrorcode'] === undefined) dlqWithoutError++;
  };
  let platform: Platform | undefined;
  const agent = keepAliveAgent(64);
  try {
    platform = await Platform.start();
    const p = platform;
    for (const cls of CLASSES) {
      const b = `faulty-${cls.toLowerCase()}`;
      await p.broker({ name: b, brokerClass: cls });
      await p.trigger({
        name: `${b}-all`,
        broker: b,
        subscriber: `${sub.url}/${cls}`,
        delivery: { retry: 6, backoffPolicy: 'linear', backoffDelay: 'PT0.05S', timeout: 'PT0.5S', retryAfterMax: 'PT1S', deadLetterSink: { uri: `${sub.url}/dls-${cls}` } },
      });
    }
    const accepted = { Memory: new Set<string>(), Redis: new Set<string>() };
    const ingress = { Memory: new Tally(), Redis: new Tally() };
    let bad5xx = 0;
    const sent = await openLoop({
      rate: rate * CLASSES.length,
      seconds: opts.durationS,
      stop: () => !p.alive,
      send: async (i) => {
        const cls = CLASSES[i % CLASSES.length] as (typeof CLASSES)[number];
        const id = `fs-${cls}-${i}`;
        if (Math.random() < 0.05) poison.add(id);
        const r = await post({ port: p.ports.broker, path: `/default/faulty-${cls.toLowerCase()}`, headers: binaryHeaders(id), body: `{"i":${i}}`, agent });
        ingress[cls].add(r.status === 503 && r.retryAfter ? '503+Retry-After' : statusClass(r.status, r.failure));
        if (r.status !== undefined && r.status >= 500 && !(r.status === 503 && r.retryAfter)) bad5xx++;
        if (r.status === 202) accepted[cls].add(id);
      },
    });
    const drainStart = performance.now();
    const settled = (cls: (typeof CLASSES)[number]): boolean => {
      const ok = sub.delivered(`/${cls}`);
      const dl = sub.delivered(`/dls-${cls}`);
      for (const id of accepted[cls]) if (!ok.has(id) && !dl.has(id)) return false;
      return true;
    };
    await until(() => CLASSES.every(settled) || !p.alive, DRAIN_MS, 200);
    const drainS = (performance.now() - drainStart) / 1000;
    const healthy = await p.healthy();
    const crashed = p.crashes.length > 0 || !p.alive || !healthy;

    const rows: [string, number | string][] = [
      ['events sent (both classes)', sent],
      ['subscriber answers (all attempts)', [...sub.outcomes].map(([k, v]) => `${k} ${v}`).join(', ')],
      ['crashes (wisp up died)', crashed ? 1 : 0],
      ['ingress 5xx other than 503+Retry-After', bad5xx],
      ['drain (s, bounded by 60)', Number(drainS.toFixed(1))],
      ['dead letters without knativeerrordest/code', `${dlqWithoutError} of ${dlqSeen}`],
    ];
    const invariants: Invariant[] = [
      invariant('no crash', !crashed, crashed ? p.crashes.join('\n') || `alive ${p.alive}, /healthz ${healthy}` : 'wisp up alive, /healthz 200'),
      invariant('no ingress 5xx but 503 with Retry-After', bad5xx === 0, String(bad5xx)),
      invariant('dead letters carry knativeerrordest and knativeerrorcode', dlqWithoutError === 0, `${dlqWithoutError} of ${dlqSeen} without`),
    ];
    let totalLost = 0;
    let totalDup = 0;
    const deadLettered = { Memory: 0, Redis: 0 };
    for (const cls of CLASSES) {
      const ok = sub.delivered(`/${cls}`);
      const dl = sub.delivered(`/dls-${cls}`);
      const { lost, duplicates } = lossAndDuplicates(accepted[cls], ok, dl);
      totalLost += lost.length;
      totalDup += duplicates;
      const poisonAccepted = [...accepted[cls]].filter((id) => poison.has(id));
      const poisonDelivered = poisonAccepted.filter((id) => ok.has(id)).length;
      const deliveredN = [...accepted[cls]].filter((id) => ok.has(id)).length;
      const dlN = [...accepted[cls]].filter((id) => dl.has(id)).length;
      deadLettered[cls] = dlN;
      rows.push(
        [`${cls}: ingress answers`, ingress[cls].summary()],
        [`${cls}: accepted`, accepted[cls].size],
        [`${cls}: delivered (2xx)`, deliveredN],
        [`${cls}: dead-lettered`, dlN],
        [`${cls}: poison events accepted / dead-lettered`, `${poisonAccepted.length} / ${poisonAccepted.filter((id) => dl.has(id)).length}`],
        [`${cls}: lost`, lost.length],
        [`${cls}: duplicates`, duplicates],
      );
      invariants.push(
        invariant(`${cls}: every accepted event delivered or dead-lettered`, lost.length === 0, `${lost.length} lost of ${accepted[cls].size}${lost.length ? ` (e.g. ${lost.slice(0, 5).join(', ')})` : ''}`),
        invariant(`${cls}: poison events are never delivered`, poisonDelivered === 0, `${poisonDelivered} of ${poisonAccepted.length}`),
      );
    }
    return {
      probe: 'subscriber',
      method: [
        `${opts.durationS} s at ${rate} ev/s to each of a Memory and a Redis broker (binary mode, keep-alive), then up to ${DRAIN_MS / 1000} s to settle.`,
        'Each delivery attempt: 500 30 %, 429+Retry-After:1 10 %, reset 10 %, 202 after 150 ms 10 %, no answer 1.5 s 5 %, else 202; 5 % poison (always 500).',
        'Trigger delivery: retry 6, linear 50 ms, timeout PT0.5S, retryAfterMax PT1S, deadLetterSink. Delivered = answered 2xx; lost = accepted, neither delivered nor dead-lettered.',
      ],
      rows,
      invariants,
      seconds: (performance.now() - started) / 1000,
      totals: { requests: sent, crashes: crashed ? 1 : 0, fiveXX: bad5xx, busy: CLASSES.reduce((n, c) => n + ingress[c].get('503+Retry-After'), 0), lost: totalLost, duplicates: totalDup, note: `${sub.outcomes.get('2xx') ?? 0} of ${[...sub.outcomes.values()].reduce((a, b) => a + b, 0)} attempts answered 2xx; ${CLASSES.map((c) => `${c} ${deadLettered[c]}`).join(', ')} dead-lettered` },
    };
  } finally {
    agent.destroy();
    await platform?.cleanup();
    await sub.stop();
  }
}

if (isMain(import.meta.url)) {
  const args = parseProbeArgs(process.argv.slice(2), { durationS: 20, extra: { rate: 100 } });
  await runAsScript(async () => [await probeSubscriber({ durationS: args.durationS, rate: args.extra['rate'] ?? 100 })]);
}
