/**
 * Part (c): a burst of requests, each on its own connection, sent at once to a Service at zero replicas whose
 * function listens only `START_DELAY_MS` after it is spawned (slow-start.ts): the requests wait in Wisp's activator
 * until the replica is up. Measured: the wisp process's RSS (from /proc, every 50 ms) and V8 heap (its /metrics,
 * every second) while they wait, against just before; every response counted by status.
 *
 * Connections come from several loopback addresses (127.0.0.2, .3, ...; at most CONNS_PER_ADDRESS each) because
 * Wisp's ingress caps connections per client address (512) as well as per port (4 096): a burst over the port's cap
 * is refused at accept with 503 + Retry-After: 1, which is counted, and such a request is sent again after that
 * delay (what a client that honours Retry-After does), up to MAX_ATTEMPTS times.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../broker/wisp.js';
import { type WispUp, cliApply, fmt, heapUsedMiB, printTable, rssMiB, sleep, startWisp, untilReady } from './common.js';

const NS = 'default';
const CONNS_PER_ADDRESS = 500;
const MAX_ATTEMPTS = 10;
const START_DELAY_MS = Number(process.env['WISP_BENCH_START_DELAY_MS'] ?? 4000);
const FUNCTION = join(ROOT, 'dist/test/bench/scale/slow-start.js');

const ALLOW_ZERO = `apiVersion: v1
kind: ConfigMap
metadata: {name: config-autoscaler, namespace: knative-serving}
data:
  allow-zero-initial-scale: "true"
`;

function serviceYaml(name: string): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: ${name}, namespace: ${NS}}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "0"
        autoscaling.knative.dev/initial-scale: "0"
        autoscaling.knative.dev/max-scale: "1"
    spec:
      containerConcurrency: 0
      timeoutSeconds: 300
      containers:
        - command: ["${process.execPath}", "${FUNCTION}"]
          workingDir: ${ROOT}
          env: [{name: START_DELAY_MS, value: "${START_DELAY_MS}"}]
`;
}

interface Attempt {
  status: number;
  retryAfter: boolean;
  /** ms (performance.now) when the response head arrived. */
  at: number;
  /** ms (performance.now) when the connection was established. */
  connectedAt: number;
}

/** The body of the latest non-200 answer, to say why. */
let lastRefusal = '';

/**
 * One request on a connection of its own, from `localAddress`, written as raw bytes the moment the socket is made
 * (node:http's client costs too much per connection to open 10 000 at once on this machine: its own lag made
 * requests miss Wisp's 5 s head timeout). `Connection: close`: the response ends when the socket does. Status 0 =
 * a network error.
 */
function once(port: number, host: string, localAddress: string): Promise<Attempt> {
  return new Promise((resolve) => {
    let connectedAt = Infinity;
    let at = NaN;
    let head = '';
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      const retryAfter = /\r\nretry-after:/i.test(head);
      if (status !== 200 && status !== 0) lastRefusal = head.split('\r\n\r\n').slice(0, 2).join(' | ').replace(/\r\n/g, '; ').slice(0, 400);
      resolve({ status, retryAfter, at: Number.isNaN(at) ? performance.now() : at, connectedAt });
    };
    const sock = connect({ host: '127.0.0.1', port, localAddress });
    sock.setTimeout(300_000, () => sock.destroy());
    sock.once('connect', () => (connectedAt = performance.now()));
    sock.setEncoding('latin1');
    sock.on('data', (c: string) => {
      if (Number.isNaN(at)) at = performance.now();
      if (head.length < 4096) head += c;
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      finish(m ? Number(m[1]) : 0);
    });
    // write, not end: a half-closed connection is a client that left (the activator drops its request).
    sock.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

export interface QueueRow {
  requests: number;
  /** Responses of the first attempt, by status. */
  first: Map<number, number>;
  /** Final responses (after retries of refusals), by status. */
  final: Map<number, number>;
  retries: number;
  /** First attempts that were not refused and had no answer before the first 200: they waited in Wisp. */
  waited: number;
  rssBefore: number;
  rssPeak: number;
  heapBefore: number;
  heapPeak: number;
  rssAfter: number;
  /** Send of the first request → first 200, and → last response, ms. */
  firstOkMs: number;
  allMs: number;
  /** The replica listening (its own stamp) → the first 200 at the client, and → the last of the requests that waited. */
  dispatchFirstMs: number;
  dispatchAllMs: number;
}

async function burst(wisp: WispUp, name: string, requests: number): Promise<QueueRow> {
  const host = `${name}.${NS}.localhost`;
  const port = wisp.ports.ingress;
  await sleep(500);
  const rssBefore = rssMiB(wisp.pid);
  const heapBefore = await heapUsedMiB(wisp);
  let rssPeak = rssBefore;
  let heapPeak = heapBefore;
  let firstOk = Infinity;
  let sampling = true;
  const rssTimer = setInterval(() => {
    if (performance.now() < firstOk) rssPeak = Math.max(rssPeak, rssMiB(wisp.pid));
  }, 50);
  const heapLoop = (async () => {
    while (sampling) {
      const h = await heapUsedMiB(wisp).catch(() => NaN);
      if (performance.now() < firstOk && Number.isFinite(h)) heapPeak = Math.max(heapPeak, h);
      // Not more often: with thousands of sockets open, a scrape costs Wisp a scan of all its handles and fds.
      await sleep(1000);
    }
  })();
  const first = new Map<number, number>();
  const final = new Map<number, number>();
  let retries = 0;
  const t0 = performance.now();
  const firsts: Attempt[] = [];
  const one = async (i: number): Promise<void> => {
    const address = `127.0.0.${2 + Math.floor(i / CONNS_PER_ADDRESS)}`;
    let a = await once(port, host, address);
    firsts.push(a);
    if (a.status === 200) firstOk = Math.min(firstOk, a.at);
    first.set(a.status, (first.get(a.status) ?? 0) + 1);
    for (let n = 1; n < MAX_ATTEMPTS && a.status === 503 && a.retryAfter; n++) {
      retries++;
      await sleep(1000);
      a = await once(port, host, address);
      if (a.status === 200) firstOk = Math.min(firstOk, a.at);
    }
    final.set(a.status, (final.get(a.status) ?? 0) + 1);
  };
  await Promise.all(Array.from({ length: requests }, (_, i) => one(i)));
  const allMs = performance.now() - t0;
  sampling = false;
  clearInterval(rssTimer);
  await heapLoop;
  const waitedOnes = firsts.filter((a) => a.status === 200 && a.connectedAt < firstOk);
  const waited = waitedOnes.length;
  const lastWaited = Math.max(...waitedOnes.map((a) => a.at));
  const logs = await wisp.cli(['logs', name]);
  const stamp = /LISTENING (\d+(?:\.\d+)?)/.exec(logs.stdout);
  // performance.now() of this process at the replica's epoch stamp (both on this machine's clock).
  const listenedAt = stamp ? Number(stamp[1]) - performance.timeOrigin : NaN;
  return {
    requests,
    first,
    final,
    retries,
    waited,
    rssBefore,
    rssPeak,
    heapBefore,
    heapPeak,
    rssAfter: rssMiB(wisp.pid),
    firstOkMs: firstOk - t0,
    allMs,
    dispatchFirstMs: firstOk - listenedAt,
    dispatchAllMs: lastWaited - listenedAt,
  };
}

export async function runQueue(steps: number[]): Promise<QueueRow[]> {
  const wisp = await startWisp();
  const rows: QueueRow[] = [];
  try {
    await cliApply(wisp, ALLOW_ZERO);
    for (const requests of steps) {
      // A Service of its own per step: each burst meets a revision at zero that has never run.
      const name = `cold-${requests}`;
      await cliApply(wisp, serviceYaml(name));
      await untilReady(wisp, `/apis/serving.knative.dev/v1/namespaces/${NS}/services`, rows.length + 1, { timeoutMs: 60_000 });
      const row = await burst(wisp, name, requests);
      rows.push(row);
      const statuses = (m: Map<number, number>): string => [...m].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s === 0 ? 'error' : s}×${n}`).join(' ');
      console.log(
        `  ${requests} requests: first attempts ${statuses(row.first)}; final ${statuses(row.final)} (${row.retries} retries after Retry-After); ` +
          `first 200 after ${fmt(row.firstOkMs, 0)} ms (replica listening → first 200 ${fmt(row.dispatchFirstMs, 0)} ms, → last waiting one answered ${fmt(row.dispatchAllMs, 0)} ms), all answered after ${fmt(row.allMs, 0)} ms; RSS ${fmt(row.rssBefore)} → peak ${fmt(row.rssPeak)} MiB, heap ${fmt(row.heapBefore)} → peak ${fmt(row.heapPeak)} MiB`,
      );
      const nonOk = [...row.final].filter(([s]) => s !== 200);
      if (nonOk.length > 0) console.log(`  !!! ${nonOk.map(([s, n]) => `${n} answered ${s === 0 ? 'with a network error' : s}`).join(', ')}; the last said: ${lastRefusal}`);
      else if ((row.first.get(503) ?? 0) > 0) console.log(`  (a refusal said: ${lastRefusal})`);
    }
  } finally {
    await wisp.cleanup();
  }
  return rows;
}

export function printQueue(rows: QueueRow[]): void {
  const waitedOf = (r: QueueRow): number => r.waited;
  printTable(
    ['requests', 'waited in Wisp', 'refused at accept (503)', 'final 200', 'final other', 'RSS Δ MiB', 'heap Δ MiB (rough)', 'RSS KiB/waiting', 'ratio', 'heap KiB/waiting (rough)', 'first 200 ms', 'listening→first 200 ms', 'listening→all waiting answered ms', 'µs/waiting', 'all answered ms'],
    rows.map((r, i) => {
      const rssPer = ((r.rssPeak - r.rssBefore) * 1024) / Math.max(1, waitedOf(r));
      const heapPer = ((r.heapPeak - r.heapBefore) * 1024) / Math.max(1, waitedOf(r));
      // On RSS, sampled every 50 ms: the heap is read once a second and between collections, so its peak is rough.
      const prev = rows[i - 1];
      const prevPer = prev ? ((prev.rssPeak - prev.rssBefore) * 1024) / Math.max(1, waitedOf(prev)) : NaN;
      const ratio = rssPer / prevPer;
      const other = [...r.final].filter(([s]) => s !== 200).reduce((a, [, n]) => a + n, 0);
      return [
        String(r.requests),
        String(waitedOf(r)),
        String(r.first.get(503) ?? 0),
        String(r.final.get(200) ?? 0),
        String(other),
        fmt(r.rssPeak - r.rssBefore),
        fmt(r.heapPeak - r.heapBefore),
        fmt(rssPer, 1),
        Number.isFinite(ratio) ? `${fmt(ratio, 2)} ${ratio > 1.5 ? 'NON-LINEAR' : 'linear'}` : '-',
        fmt(heapPer, 1),
        fmt(r.firstOkMs, 0),
        fmt(r.dispatchFirstMs, 0),
        fmt(r.dispatchAllMs, 0),
        fmt((r.dispatchAllMs * 1000) / Math.max(1, r.waited), 0),
        fmt(r.allMs, 0),
      ];
    }),
  );
}
