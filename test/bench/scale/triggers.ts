/**
 * Part (b): one Memory Broker, its Triggers in cumulative steps (1, 10, 100, 1 000), filters attribute, prefix and
 * CESQL in turn. Two Brokers side by side so both variants run on the same `wisp up`:
 *  - `sel`: Trigger i matches events whose subject is `k<i>/` (`filter.attributes`, `filters: [{prefix}]` or
 *    `filters: [{cesql}]`); event n carries subject `k<n mod T>/`, so exactly one Trigger matches each event and
 *    the other T−1 filters are evaluated and say no;
 *  - `all`: every Trigger matches every event (on its type, by the same three kinds of filter), T deliveries each.
 * Per step and variant: a fixed number of events POSTed (closed loop), then waited for until every delivery
 * arrived; CPU of the wisp process from the first send to the last delivery, per ingested event and per delivery.
 */
import { Pool } from 'undici';
import { Subscriber } from '../broker/subscriber.js';
import { type WispUp, cliApply, cpuUs, fmt, printTable, startWisp, untilReady } from './common.js';

const NS = 'default';
const TYPE = 'dev.wisp.bench.scale';
const TRIGGERS = `/apis/eventing.knative.dev/v1/namespaces/${NS}/triggers`;
const CONCURRENCY = 16;
const BODY = '{"bench":true}';

type Variant = 'sel' | 'all';
const FILTER_KINDS = ['attributes', 'prefix', 'cesql'] as const;

function filterYaml(variant: Variant, i: number): string {
  const kind = FILTER_KINDS[i % FILTER_KINDS.length];
  if (variant === 'sel') {
    const subject = `k${i}/`;
    if (kind === 'attributes') return `  filter:\n    attributes: {type: ${TYPE}, subject: "${subject}"}\n`;
    if (kind === 'prefix') return `  filters:\n    - prefix: {subject: "${subject}"}\n`;
    return `  filters:\n    - cesql: "type = '${TYPE}' AND subject = '${subject}'"\n`;
  }
  if (kind === 'attributes') return `  filter:\n    attributes: {type: ${TYPE}}\n`;
  if (kind === 'prefix') return `  filters:\n    - prefix: {type: "dev.wisp.bench."}\n`;
  return `  filters:\n    - cesql: "type LIKE 'dev.wisp.bench.%'"\n`;
}

function triggersYaml(variant: Variant, subscriber: string, from: number, to: number): string {
  const docs: string[] = [];
  for (let i = from; i < to; i++) {
    docs.push(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: ${variant}-t${i}, namespace: ${NS}}
spec:
  broker: ${variant}
${filterYaml(variant, i)}  subscriber:
    uri: ${subscriber}/${variant}/t${i}
`);
  }
  return docs.join('---\n');
}

const brokerYaml = (name: string): string => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${name}
  namespace: ${NS}
  annotations: {eventing.knative.dev/broker.class: Memory}
`;

/** POSTs `count` binary-mode events (closed loop, CONCURRENCY at a time); event n gets subject `k<n mod keys>/`. */
async function send(origin: string, path: string, count: number, keys: number, idPrefix: string): Promise<{ accepted: number; failed: Map<string, number> }> {
  const pool = new Pool(origin, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 60_000 });
  let next = 0;
  let accepted = 0;
  const failed = new Map<string, number>();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = next++;
      try {
        const res = await pool.request({
          path,
          method: 'POST',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': `${idPrefix}-${n}`,
            'ce-source': '/wisp/bench/scale',
            'ce-type': TYPE,
            'ce-subject': `k${n % keys}/`,
            'content-type': 'application/json',
          },
          body: BODY,
        });
        await res.body.dump();
        if (res.statusCode === 202) accepted++;
        else failed.set(String(res.statusCode), (failed.get(String(res.statusCode)) ?? 0) + 1);
      } catch (err) {
        const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : String(err);
        failed.set(code, (failed.get(code) ?? 0) + 1);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await pool.close();
  }
  return { accepted, failed };
}

export interface TriggerRow {
  variant: Variant;
  triggers: number;
  events: number;
  deliveries: number;
  missing: number;
  wrongPath: number;
  errors: string;
  /** First send → last delivery, ms. */
  ms: number;
  /** CPU of the wisp process over `ms`, µs. */
  cpuUs: number;
}

/**
 * Events per phase, so that a phase takes seconds at every step: `sel` `base` events up to 100 Triggers, fewer
 * beyond (each costs more; at least 500); `all` enough for ~4 × `base` deliveries (at least 10 events).
 */
export function eventsFor(variant: Variant, triggers: number, base: number): number {
  return variant === 'sel' ? Math.max(500, Math.min(base, Math.round((base * 100) / triggers))) : Math.max(10, Math.round((base * 4) / triggers));
}

async function phase(wisp: WispUp, sub: Subscriber, variant: Variant, triggers: number, events: number, label: string): Promise<TriggerRow> {
  await sub.reset();
  const origin = `http://127.0.0.1:${wisp.ports.broker}`;
  const expected = variant === 'sel' ? events : events * triggers;
  const c0 = cpuUs(wisp.pid);
  const t0 = performance.now();
  const sent = await send(origin, `/${NS}/${variant}`, events, triggers, `${label}-${variant}-${triggers}`);
  const stats = await sub.drain(sent.accepted * (variant === 'sel' ? 1 : triggers), 10_000);
  const ms = performance.now() - t0 - (stats.count < expected ? 10_000 : 0);
  const cpu = cpuUs(wisp.pid) - c0;
  // `sel`: event n must have reached trigger n mod T only.
  let wrongPath = 0;
  if (variant === 'sel') {
    for (let i = 0; i < triggers; i++) {
      const want = Math.floor(events / triggers) + (i < events % triggers ? 1 : 0);
      wrongPath += Math.abs((stats.paths[`/sel/t${i}`] ?? 0) - want);
    }
  }
  return {
    variant,
    triggers,
    events: sent.accepted,
    deliveries: stats.count,
    missing: Math.max(0, expected - stats.count),
    wrongPath,
    errors: [...sent.failed].map(([k, v]) => `${k}×${v}`).join(' ') + (stats.duplicates > 0 ? ` dup×${stats.duplicates}` : ''),
    ms,
    cpuUs: cpu,
  };
}

export async function runTriggers(steps: number[], baseEvents: number): Promise<TriggerRow[]> {
  const sub = await Subscriber.start();
  const rows: TriggerRow[] = [];
  let wisp: WispUp | undefined;
  try {
    wisp = await startWisp();
    await cliApply(wisp, `${brokerYaml('sel')}---\n${brokerYaml('all')}`);
    let have = 0;
    for (const target of steps) {
      const t0 = performance.now();
      await cliApply(wisp, `${triggersYaml('sel', sub.origin, have, target)}---\n${triggersYaml('all', sub.origin, have, target)}`);
      await untilReady(wisp, TRIGGERS, 2 * target, { intervalMs: 200, timeoutMs: 600_000 });
      console.log(`  ${target} + ${target} Triggers Ready in ${fmt(performance.now() - t0, 0)} ms`);
      have = target;
      // A short warm-up of each path (JIT, connection pools), not counted.
      await phase(wisp, sub, 'sel', target, Math.min(200, baseEvents), 'warm');
      await phase(wisp, sub, 'all', target, Math.max(2, Math.round(200 / target)), 'warm');
      for (const variant of ['sel', 'all'] as const) {
        const row = await phase(wisp, sub, variant, target, eventsFor(variant, target, baseEvents), 'run');
        rows.push(row);
        const bad = row.missing > 0 || row.wrongPath > 0 || row.errors !== '';
        console.log(
          `  ${variant} T=${target}: ${row.events} events, ${row.deliveries} deliveries in ${fmt(row.ms, 0)} ms, wisp CPU ${fmt(row.cpuUs / row.events, 0)} µs/event` +
            (bad ? `  !!! missing ${row.missing}, misrouted ${row.wrongPath}, errors ${row.errors}` : ''),
        );
      }
    }
  } finally {
    await wisp?.cleanup();
    await sub.stop();
  }
  return rows;
}

export function printTriggers(rows: TriggerRow[]): void {
  for (const variant of ['sel', 'all'] as const) {
    const rs = rows.filter((r) => r.variant === variant);
    console.log('');
    console.log(variant === 'sel' ? 'selective (1 of T Triggers matches each event):' : 'all match (each event delivered T times):');
    const head = ['Triggers', 'events', 'deliveries', 'ingested ev/s', 'delivered ev/s', 'wisp CPU µs/event', 'µs/delivery'];
    head.push(variant === 'sel' ? 'µs/(event·Trigger) added' : 'ratio µs/delivery', 'verdict', 'missing/misrouted/errors');
    const lines = rs.map((r, i) => {
      const perEvent = r.cpuUs / Math.max(1, r.events);
      const perDelivery = r.cpuUs / Math.max(1, r.deliveries);
      const prev = rs[i - 1];
      let cmp = NaN;
      let verdict = '';
      if (prev) {
        if (variant === 'sel') {
          // The filter loop's cost: CPU per event added per Trigger added. Linear in T if it stays about the same.
          cmp = (perEvent - prev.cpuUs / Math.max(1, prev.events)) / (r.triggers - prev.triggers);
          const prevCmp = i >= 2 ? (prev.cpuUs / prev.events - rs[i - 2]!.cpuUs / rs[i - 2]!.events) / (prev.triggers - rs[i - 2]!.triggers) : NaN;
          verdict = Number.isFinite(prevCmp) && prevCmp > 0 ? (cmp / prevCmp > 1.5 ? `NON-LINEAR (${fmt(cmp / prevCmp, 2)}×)` : `linear (${fmt(cmp / prevCmp, 2)}×)`) : '';
        } else {
          cmp = perDelivery / (prev.cpuUs / Math.max(1, prev.deliveries));
          verdict = cmp > 1.5 ? 'NON-LINEAR' : 'linear';
        }
      }
      return [
        String(r.triggers),
        String(r.events),
        String(r.deliveries),
        fmt(r.events / (r.ms / 1000), 0),
        fmt(r.deliveries / (r.ms / 1000), 0),
        fmt(perEvent, 0),
        fmt(perDelivery, 1),
        fmt(cmp, 2),
        verdict,
        `${r.missing}/${r.wrongPath}/${r.errors === '' ? 0 : r.errors}`,
      ];
    });
    printTable(head, lines);
  }
}
