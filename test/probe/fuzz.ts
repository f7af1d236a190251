/**
 * probe:fuzz — malformed, faulty and hostile requests against the broker ingress, the service ingress and the
 * control API of a real `wisp up`, for --duration seconds (default 20) from 8 concurrent raw-socket clients.
 *
 * Every case says which answers are right (fuzz-ingress.ts, fuzz-api.ts). After the load the probe waits until
 * every event that got a 202 reached the subscriber (a Memory and a Redis broker, one Trigger each) and checks
 * that events of refused requests never arrive, that bodies arrive byte for byte, and that accepted events keep
 * every extension. Invariants: no crash, no 5xx, every answer as expected, nothing accepted lost, auth enforced.
 * Flags: --duration <s> (20), --concurrency <n> (8), --seed <n> (random; printed, to repeat a run's mutations),
 * --drain <s> (20: how long to wait for accepted events after the load).
 */
import { invariant, type ProbeReport, statusClass, Tally } from './lib/report.js';
import { isMain, parseProbeArgs, runAsScript } from './lib/cli.js';
import { until } from './lib/events.js';
import { API_CASES } from './lib/fuzz-api.js';
import { INGRESS_CASES } from './lib/fuzz-ingress.js';
import type { FuzzCase, FuzzContext, FuzzRequest } from './lib/fuzz-types.js';
import { mutationCases } from './lib/fuzz-mutate.js';
import { rawExchange } from './lib/http.js';
import { Rng } from './lib/random.js';
import { Platform } from './lib/platform.js';
import { ProbeSubscriber } from './lib/subscriber.js';

/** Every case: the fixed ones, then the seeded random mutations. */
export function fuzzCases(rng: Rng): FuzzCase[] {
  return [...INGRESS_CASES, ...API_CASES, ...mutationCases(rng)];
}

interface CaseStats {
  sent: number;
  unexpected: number;
  got: Tally;
}

function safeDecode(v: string): string | undefined {
  try {
    return decodeURIComponent(v);
  } catch {
    return undefined;
  }
}

/** `fz-<tag>-<n>` ids counted by tag: "sdct 12, mut-s 3". */
function lostByTag(ids: string[]): string {
  const t = new Tally();
  for (const id of ids) t.add(id.replace(/^fz-/, '').replace(/-[0-9a-z]+$/, ''));
  return t.total() === 0 ? '-' : [...t.counts].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ');
}

/** The last lines wisp up logged at warn level or above (it runs with WISP_LOG_LEVEL=warn), indented. */
function logTail(p: Platform, n = 4): string {
  const lines = p.wisp.output.split('\n').filter((l) => l.trim() !== '').slice(-n);
  return lines.length === 0 ? '' : `\n      wisp up logged (last ${lines.length}):${lines.map((l) => `\n        ${l.slice(0, 400)}`).join('')}`;
}

export async function probeFuzz(opts: { durationS: number; concurrency?: number; seed?: number; drainS?: number }): Promise<ProbeReport> {
  const drainMs = (opts.drainS ?? 20) * 1000;
  const started = performance.now();
  const concurrency = opts.concurrency ?? 8;
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rng = new Rng(seed);
  const CASES = fuzzCases(rng);
  const sub = await new ProbeSubscriber().start();
  const exact = new Map<string, Buffer>();
  const exts = new Map<string, Record<string, string>>();
  const forbidden = new Map<string, string[]>();
  sub.keep = (id) => exact.has(id) || exts.has(id) || forbidden.has(id);
  let platform: Platform | undefined;
  try {
    platform = await Platform.start();
    const p = platform;
    await p.broker({ name: 'fuzz-mem', brokerClass: 'Memory' });
    await p.broker({ name: 'fuzz-redis', brokerClass: 'Redis' });
    await p.broker({ name: 'fuzz-victim', brokerClass: 'Memory' });
    // Mutated Triggers subscribe here: no event is ever sent to it, so no mutated subscriber URI is ever called.
    await p.broker({ name: 'fuzz-silent', brokerClass: 'Memory' });
    const delivery = { retry: 3, backoffDelay: 'PT0.1S', backoffPolicy: 'linear' };
    await p.trigger({ name: 'fuzz-mem-all', broker: 'fuzz-mem', subscriber: `${sub.url}/mem`, delivery });
    await p.trigger({ name: 'fuzz-redis-all', broker: 'fuzz-redis', subscriber: `${sub.url}/redis`, delivery });
    const tokenPresent = p.token() !== undefined;

    let seq = 0;
    let flip = 0;
    const ctx: FuzzContext = {
      brokerPath: () => (flip++ % 2 === 0 ? '/default/fuzz-mem' : '/default/fuzz-redis'),
      id: (tag) => `fz-${tag}-${(seq++).toString(36)}`,
      auth: () => p.authHeaders(),
      name: (tag) => `fuzz-${tag}-${seq++ % 3}`,
    };
    const byPort = { broker: new Tally(), api: new Tally(), ingress: new Tally() };
    const fiveXX = { broker: 0, api: 0, ingress: 0 };
    const stats = new Map<FuzzCase, CaseStats>(CASES.map((c) => [c, { sent: 0, unexpected: 0, got: new Tally() }]));
    const accepted = new Set<string>();
    /** The first 600 bytes of each accepted request, to show what a lost event was. */
    const heads = new Map<string, string>();
    const refused = new Set<string>();
    let noToken = 0;
    let noToken401 = 0;

    const totalWeight = CASES.reduce((n, c) => n + c.weight, 0);
    let firstPass = 0;
    const pick = (): FuzzCase => {
      if (firstPass < CASES.length) return CASES[firstPass++] as FuzzCase;
      let r = rng.next() * totalWeight;
      for (const c of CASES) if ((r -= c.weight) < 0) return c;
      return CASES[CASES.length - 1] as FuzzCase;
    };
    const portOf = (req: FuzzRequest): number => p.ports[req.port];

    const deadline = Date.now() + opts.durationS * 1000;
    const worker = async (): Promise<void> => {
      while (Date.now() < deadline && p.alive) {
        const c = pick();
        const req = c.make(ctx);
        for (const [id, b] of req.exact ?? []) exact.set(id, b);
        for (const [id, e] of req.extensions ?? []) exts.set(id, e);
        for (const [id, f] of req.forbidden ?? []) forbidden.set(id, f);
        const res = await rawExchange({ port: portOf(req), data: req.data, timeoutMs: req.timeoutMs ?? 10_000, ...(req.head ? { head: true } : {}), ...(req.gapMs ? { gapMs: req.gapMs } : {}) });
        const cls = statusClass(res.status, res.failure);
        byPort[req.port].add(cls);
        if (res.status !== undefined && res.status >= 500) fiveXX[req.port]++;
        const s = stats.get(c) as CaseStats;
        s.sent++;
        s.got.add(res.status === undefined ? (res.failure ?? 'none') : String(res.status));
        if (!c.ok(res.status, res.failure, res.head)) s.unexpected++;
        if (req.noToken) {
          noToken++;
          if (res.status === 401) noToken401++;
        }
        for (const id of req.ids ?? []) (res.status === 202 ? accepted : refused).add(id);
        if (res.status === 202 && req.ids?.length) {
          const bytes = Buffer.isBuffer(req.data) ? req.data : Buffer.concat(req.data.map((d) => (typeof d === 'string' ? Buffer.from(d) : d)));
          const head = bytes.subarray(0, 600).toString('latin1');
          for (const id of req.ids) heads.set(id, head);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const loadEnd = performance.now();

    const delivered = (): Map<string, number> => sub.delivered();
    const drainStart = performance.now();
    await until(() => [...accepted].every((id) => delivered().has(id)), drainMs, 200);
    const drainS = (performance.now() - drainStart) / 1000;
    const got = delivered();
    const lost = [...accepted].filter((id) => !got.has(id));
    let duplicates = 0;
    for (const id of accepted) duplicates += Math.max(0, (got.get(id) ?? 0) - 1);
    const refusedDelivered = [...refused].filter((id) => got.has(id));

    let exactChecked = 0;
    const exactBad: string[] = [];
    for (const [id, bytes] of exact) {
      if (!accepted.has(id)) continue;
      const d = sub.kept.get(id);
      if (!d) continue; // counted as lost
      exactChecked++;
      if (!d.body.equals(bytes)) exactBad.push(`${id}: sent ${bytes.length} B, got ${d.body.length} B (${d.body.subarray(0, 40).toString('hex')}…)`);
    }
    let extChecked = 0;
    const extBad: string[] = [];
    for (const [id, ext] of exts) {
      if (!accepted.has(id)) continue;
      const d = sub.kept.get(id);
      if (!d) continue;
      extChecked++;
      // Header values are percent-encoded UTF-8 where they must be (CloudEvents HTTP binding §3.1.3.2).
      const missing = Object.entries(ext).filter(([k, v]) => {
        const got = d.headers[`ce-${k}`];
        return typeof got !== 'string' || (got !== v && safeDecode(got) !== v);
      }).length;
      if (missing > 0) extBad.push(`${id}: ${missing} of ${Object.keys(ext).length} extensions missing or changed`);
    }

    let injectedChecked = 0;
    const injected: string[] = [];
    for (const [id, names] of forbidden) {
      const d = accepted.has(id) ? sub.kept.get(id) : undefined;
      if (!d) continue;
      injectedChecked++;
      const found = names.filter((n) => d.headers[n] !== undefined);
      if (found.length > 0) injected.push(`${id}: ${found.join(', ')}`);
    }

    const healthy = await p.healthy();
    const crashed = p.crashes.length > 0 || !p.alive || !healthy;
    const sent = byPort.broker.total() + byPort.api.total() + byPort.ingress.total();
    const badCases = [...stats].filter(([c, s]) => s.unexpected > 0 && !c.noToken);
    const authCases = [...stats].filter(([c]) => c.noToken);
    const rate = sent / ((loadEnd - started) / 1000);

    const rows: [string, number | string][] = [
      ['requests sent', sent],
      ['  broker ingress', `${byPort.broker.total()} (${byPort.broker.summary()})`],
      ['  control API', `${byPort.api.total()} (${byPort.api.summary()})`],
      ['  service ingress', `${byPort.ingress.total()} (${byPort.ingress.summary()})`],
      ['request rate (req/s, incl. setup)', Math.round(rate)],
      ['cases', `${CASES.length} (${badCases.length} answered otherwise than expected)`],
      ['unexpected answers', badCases.reduce((n, [, s]) => n + s.unexpected, 0)],
      ['crashes (wisp up died)', crashed ? 1 : 0],
      ['5xx broker ingress', fiveXX.broker],
      ['5xx control API', fiveXX.api],
      ['5xx service ingress', fiveXX.ingress],
      ['events accepted (202)', accepted.size],
      ['drain after load (s)', Number(drainS.toFixed(1))],
      ['events delivered', [...accepted].filter((id) => got.has(id)).length],
      ['lost (accepted, never delivered)', `${lost.length} (Memory ${lost.filter((id) => !heads.get(id)?.includes('/fuzz-redis ')).length}, Redis ${lost.filter((id) => heads.get(id)?.includes('/fuzz-redis ')).length})`],
      ['lost by case (id tag)', lostByTag(lost)],
      ['duplicates', duplicates],
      ['deliveries in structured mode', sub.structured],
      ['events of refused requests delivered', refusedDelivered.length],
      ['byte-exact bodies checked / mismatched', `${exactChecked} / ${exactBad.length}`],
      ['extension/attribute-checked events accepted / altered', `${extChecked} / ${extBad.length}`],
      ['CRLF-laden events delivered / with injected headers', `${injectedChecked} / ${injected.length}`],
      ['control API token file', tokenPresent ? 'present' : 'absent'],
      ['requests sent without token / 401', `${noToken} / ${noToken401}`],
    ];
    const caseLines = (list: [FuzzCase, CaseStats][]): string =>
      list.map(([c, s]) => `\n      - ${c.name}: expected ${c.expect}, got ${s.got.summary()}`).join('');
    const invariants = [
      invariant('no crash', !crashed, crashed ? p.crashes.join('\n') || `alive ${p.alive}, /healthz ${healthy}` : 'wisp up alive, /healthz 200'),
      invariant('no 5xx', fiveXX.broker + fiveXX.api + fiveXX.ingress === 0, `broker ${fiveXX.broker}, control API ${fiveXX.api}, service ingress ${fiveXX.ingress}`),
      invariant('every case answered as expected', badCases.length === 0, badCases.length === 0 ? `${CASES.length - authCases.length} cases` : `${badCases.length} case(s):${caseLines(badCases)}`),
      invariant(
        'nothing accepted is lost',
        lost.length === 0,
        `${lost.length} of ${accepted.size}${lost.length ? ` (e.g. ${lost.slice(0, 5).join(', ')}); first requests:${lost.slice(0, 3).map((id) => `\n      ${JSON.stringify(heads.get(id) ?? '')}`).join('')}${logTail(p)}` : ''}`,
      ),
      invariant('events of refused requests are never delivered', refusedDelivered.length === 0, `${refusedDelivered.length}${refusedDelivered.length ? ` (e.g. ${refusedDelivered.slice(0, 5).join(', ')})` : ''}`),
      invariant('bodies arrive byte for byte', exactBad.length === 0, exactBad.length === 0 ? `${exactChecked} checked` : exactBad.slice(0, 6).join('; ')),
      invariant('no header injection through attribute values', injected.length === 0, injected.length === 0 ? `${injectedChecked} checked` : injected.slice(0, 5).join('; ')),
      invariant('accepted events keep every extension and attribute', extBad.length === 0, extBad.length === 0 ? `${extChecked} checked` : extBad.slice(0, 6).join('; ')),
      invariant(
        'control API refuses requests without the token (401)',
        tokenPresent && noToken > 0 && noToken401 === noToken,
        `${tokenPresent ? 'token file present' : 'no <state-dir>/token'}; ${noToken401} of ${noToken} got 401:${caseLines(authCases)}`,
      ),
    ];
    return {
      probe: 'fuzz',
      method: [
        `${opts.durationS} s of load from ${concurrency} raw-socket clients (one connection per request, Connection: close), then up to ${drainMs / 1000} s for deliveries.`,
        `${CASES.length} cases (each once, then weighted at random): CloudEvents in binary/structured/batch mode, bad URLs, methods, sizes,`,
        'HTTP framing, 431-sized headers, many/huge extensions, byte-exactness bodies; hostile control API bodies; no-token requests.',
        `Random mutations (seed ${seed}, repeat with --seed ${seed}) of structured events, batches, binary headers, Brokers and Triggers (on a Broker that gets no events).`,
        'Brokers: Memory and Redis (events alternate), one Trigger each to an in-process subscriber that answers 202.',
      ],
      rows,
      invariants,
      seconds: (performance.now() - started) / 1000,
      totals: { requests: sent, crashes: crashed ? 1 : 0, fiveXX: fiveXX.broker + fiveXX.api + fiveXX.ingress, busy: 0, lost: lost.length, duplicates, note: `${CASES.length} cases, ${badCases.length} answered unexpectedly; ${exactBad.length} of ${exactChecked} bodies changed; seed ${seed}` },
    };
  } finally {
    await platform?.cleanup();
    await sub.stop();
  }
}

if (isMain(import.meta.url)) {
  const args = parseProbeArgs(process.argv.slice(2), { durationS: 20, extra: { seed: 0, concurrency: 8, drain: 20 } });
  const seed = args.extra['seed'];
  await runAsScript(async () => [await probeFuzz({ durationS: args.durationS, concurrency: args.extra['concurrency'] ?? 8, drainS: args.extra['drain'] ?? 20, ...(seed ? { seed } : {}) })]);
}

