/**
 * probe:flood — slow-header connections from one client address while another keeps working. From 127.0.0.2 the
 * probe holds --connections (default 600, above wisp's 512 per client address) connections on EACH of the three ports (service ingress, broker
 * ingress, control API), each sending a request line and then one header line a second, never ending the
 * headers (a connection the server closes is opened again a second later). Meanwhile 127.0.0.3 sends ordinary requests back to
 * back on each port (every 10th on a fresh connection, the rest keep-alive; 2 s timeout): an event to the broker (202), a Broker list with the token (200),
 * an unknown Host to the service ingress (404). Runs --duration seconds (default 30).
 * Invariants: no crash; the other client's requests succeed (at least 99 % on each port); from 8 s on, the
 * server cuts (408 or close) at least 90 % of the first-wave slow connections it admitted before the run ends.
 */
import { connect, type Socket } from 'node:net';
import { isMain, parseProbeArgs, runAsScript } from './lib/cli.js';
import { binaryHeaders, sleep } from './lib/events.js';
import { failureName, httpCall, keepAliveAgent } from './lib/http.js';
import { Platform } from './lib/platform.js';
import { invariant, type Invariant, type ProbeReport, Tally } from './lib/report.js';
import { ProbeSubscriber } from './lib/subscriber.js';

const SLOW_FROM = '127.0.0.2';
const CLIENT_FROM = '127.0.0.3';
const PORTS = ['ingress', 'broker', 'api'] as const;
type PortName = (typeof PORTS)[number];
/** Wisp's servers time a request head out after 5 s, checked every second (core/http-limits.ts): 8 s leaves margin. */
const CUT_CHECK_MIN_S = 8;
const REOPEN_AFTER_MS = 1000;

interface SlowStats {
  opened: number;
  /** First-wave connections the server accepted (did not refuse), and of those, the ones it cut (408 or close). */
  firstWave: number;
  firstWaveAdmitted: number;
  firstWaveCut: number;
  closedByServer: number;
  /** Refused: answered 503 at once, or closed within 200 ms without an answer (a connection limit). */
  refused: number;
  /** Most slow connections open at once (sampled every 250 ms). */
  maxOpen: number;
  got408: number;
  otherStatus: Tally;
  openAtEnd: number;
  cutAfterMs: number[];
}

function slowRequest(port: PortName): string {
  if (port === 'ingress') return 'GET / HTTP/1.1\r\nHost: flood.default.localhost\r\n';
  if (port === 'broker') return 'POST /default/flood-mem HTTP/1.1\r\nHost: 127.0.0.1\r\nce-specversion: 1.0\r\n';
  return 'GET /apis/eventing.knative.dev/v1/namespaces/default/brokers HTTP/1.1\r\nHost: 127.0.0.1\r\n';
}

function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

export async function probeFlood(opts: { durationS: number; connections?: number }): Promise<ProbeReport> {
  const started = performance.now();
  const perPort = opts.connections ?? 600;
  const sub = await new ProbeSubscriber().start();
  let platform: Platform | undefined;
  const sockets = new Set<Socket>();
  const firstWaveSockets = new WeakSet<Socket>();
  const agent = keepAliveAgent(PORTS.length, CLIENT_FROM);
  let running = true;
  try {
    platform = await Platform.start();
    const p = platform;
    await p.broker({ name: 'flood-mem', brokerClass: 'Memory' });
    await p.trigger({ name: 'flood-mem-all', broker: 'flood-mem', subscriber: `${sub.url}/mem` });

    const newStats = (): SlowStats => ({ opened: 0, firstWaveCut: 0, firstWave: 0, firstWaveAdmitted: 0, closedByServer: 0, refused: 0, maxOpen: 0, got408: 0, otherStatus: new Tally(), openAtEnd: 0, cutAfterMs: [] });
    const slow: Record<PortName, SlowStats> = { ingress: newStats(), broker: newStats(), api: newStats() };
    const open = (port: PortName, firstWave: boolean): void => {
      if (!running) return;
      const st = slow[port];
      st.opened++;
      if (firstWave) st.firstWave++;
      const t0 = performance.now();
      const sock = connect({ host: '127.0.0.1', port: p.ports[port], localAddress: SLOW_FROM });
      sockets.add(sock);
      if (firstWave) firstWaveSockets.add(sock);
      let drip: NodeJS.Timeout | undefined;
      let seen = '';
      sock.on('connect', () => {
        sock.write(slowRequest(port));
        let n = 0;
        drip = setInterval(() => sock.write(`x-slow-${n++}: 1\r\n`), 1000);
      });
      sock.on('data', (c: Buffer) => {
        if (seen.length < 64) seen += c.toString('latin1');
      });
      sock.on('error', () => undefined);
      sock.on('close', () => {
        clearInterval(drip);
        sockets.delete(sock);
        if (!running) return;
        st.closedByServer++;
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(seen);
        const lived = performance.now() - t0;
        const refused = m?.[1] === '503' || (!m && lived < 200);
        if (m?.[1] === '408') st.got408++;
        if (refused) st.refused++;
        else {
          if (m && m[1] !== '408') st.otherStatus.add(m[1] as string);
          if (!m) st.otherStatus.add('closed without a response');
          st.cutAfterMs.push(lived);
          if (firstWave) {
            st.firstWaveAdmitted++;
            st.firstWaveCut++;
          }
        }
        // Keep the pressure: open another one (after a second, so a server refusing at once is not a busy loop).
        setTimeout(() => open(port, false), REOPEN_AFTER_MS);
      });
    };
    for (const port of PORTS) for (let i = 0; i < perPort; i++) open(port, true);
    const byPort = (port: PortName): number => [...sockets].filter((s) => s.remotePort === p.ports[port] && !s.connecting).length;
    const sampler = setInterval(() => {
      for (const port of PORTS) slow[port].maxOpen = Math.max(slow[port].maxOpen, byPort(port));
    }, 250);
    await sleep(500);

    const newClient = (): { sent: number; ok: number; freshSent: number; freshOk: number; fail: Tally; ms: number[] } => ({ sent: 0, ok: 0, freshSent: 0, freshOk: 0, fail: new Tally(), ms: [] });
    const client = { ingress: newClient(), broker: newClient(), api: newClient() };
    const deadline = Date.now() + opts.durationS * 1000;
    let seq = 0;
    const loop = async (port: PortName): Promise<void> => {
      while (Date.now() < deadline && p.alive) {
        const c = client[port];
        c.sent++;
        try {
          const id = `fl-${seq++}`;
          const req =
            port === 'broker'
              ? { path: '/default/flood-mem', method: 'POST', headers: binaryHeaders(id), body: '{}' }
              : port === 'api'
                ? { path: '/apis/eventing.knative.dev/v1/namespaces/default/brokers', headers: p.authHeaders() }
                : { path: '/', headers: { host: 'nope.default.localhost' } };
          // Every 10th request on a fresh connection (admission of new connections is what a flood would deny); not
          // more, or a long run would use up 127.0.0.3's ephemeral ports (TIME_WAIT) and fail for the client's sake.
          const fresh = c.sent % 10 === 0;
          const res = await httpCall({ port: p.ports[port], ...(fresh ? { localAddress: CLIENT_FROM } : { agent }), timeoutMs: 2000, ...req });
          if (fresh) c.freshSent++;
          const want = port === 'broker' ? 202 : port === 'api' ? 200 : 404;
          if (res.status === want) {
            c.ok++;
            if (fresh) c.freshOk++;
            c.ms.push(res.ms);
          } else c.fail.add(String(res.status));
        } catch (err) {
          c.fail.add(failureName(err));
          await sleep(50);
        }
      }
    };
    await Promise.all(PORTS.map(loop));
    clearInterval(sampler);
    for (const port of PORTS) slow[port].openAtEnd = byPort(port);
    // First-wave connections still open were admitted and never cut.
    for (const s of sockets) {
      const port = PORTS.find((n) => p.ports[n] === s.remotePort);
      if (port && firstWaveSockets.has(s)) slow[port].firstWaveAdmitted++;
    }
    running = false;
    for (const s of sockets) s.destroy();

    const healthy = await p.healthy();
    const crashed = p.crashes.length > 0 || !p.alive || !healthy;
    const rows: [string, number | string][] = [['crashes (wisp up died)', crashed ? 1 : 0]];
    const invariants: Invariant[] = [invariant('no crash', !crashed, crashed ? p.crashes.join('\n') || `alive ${p.alive}, /healthz ${healthy}` : 'wisp up alive, /healthz 200')];
    const checkCut = opts.durationS >= CUT_CHECK_MIN_S;
    for (const port of PORTS) {
      const st = slow[port];
      const c = client[port];
      const okPct = c.sent === 0 ? 0 : (100 * c.ok) / c.sent;
      rows.push(
        [`${port}: slow connections opened (first wave)`, `${st.opened} (${st.firstWave})`],
        [`${port}: refused (503 or closed < 200 ms)`, st.refused],
        [`${port}: cut after admission / with 408`, `${st.cutAfterMs.length} / ${st.got408}${st.otherStatus.total() ? ` (other: ${st.otherStatus.summary()})` : ''}${st.cutAfterMs.length ? `, median after ${(percentile(st.cutAfterMs, 0.5) / 1000).toFixed(1)} s` : ''}`],
        [`${port}: first wave admitted / cut before the end`, `${st.firstWaveAdmitted} / ${st.firstWaveCut}`],
        [`${port}: most open at once / open at the end`, `${st.maxOpen} / ${st.openAtEnd}`],
        [`${port}: other client ok / sent`, `${c.ok} / ${c.sent} (${okPct.toFixed(1)} %; on fresh connections ${c.freshOk} / ${c.freshSent})${c.fail.total() ? `; failed: ${c.fail.summary()}` : ''}`],
        [`${port}: other client p50 / p99 ms`, `${percentile(c.ms, 0.5).toFixed(1)} / ${percentile(c.ms, 0.99).toFixed(1)}`],
      );
      invariants.push(invariant(`${port}: the other client is served (≥ 99 %)`, c.sent > 0 && okPct >= 99, `${c.ok} of ${c.sent} (${okPct.toFixed(1)} %)`));
      if (checkCut) invariants.push(invariant(`${port}: slow-header connections are cut (≥ 90 % of the admitted first wave)`, st.firstWaveAdmitted > 0 && st.firstWaveCut >= 0.9 * st.firstWaveAdmitted, `${st.firstWaveCut} of ${st.firstWaveAdmitted} admitted cut (${st.got408} 408s in all)`));
    }
    return {
      probe: 'flood',
      method: [
        `${perPort} slow-header connections per port from ${SLOW_FROM} (request line, then one header line a second, never done; reopened 1 s after a close) on the service ingress, broker ingress and control API.`,
        `Meanwhile ${CLIENT_FROM} sends back to back on each port (every 10th on a fresh connection, the rest keep-alive; 2 s timeout): broker event → 202, Broker list with token → 200, unknown Host → 404. ${opts.durationS} s.`,
        checkCut ? 'Cut check: at least 90 % of the first-wave connections the server admitted are cut (408 or close) before the end; refusals (503, or a close within 200 ms) are counted apart.' : `Cut check skipped: it needs --duration ${CUT_CHECK_MIN_S} or more (servers may wait that long for headers).`,
      ],
      rows,
      invariants,
      seconds: (performance.now() - started) / 1000,
      totals: { requests: PORTS.reduce((n, port) => n + client[port].sent + slow[port].opened, 0), crashes: crashed ? 1 : 0, fiveXX: PORTS.reduce((n, port) => n + [...client[port].fail.counts].filter(([k]) => /^5/.test(k)).reduce((a, [, v]) => a + v, 0), 0), busy: PORTS.reduce((n, port) => n + slow[port].refused, 0), note: `other client ok ${PORTS.map((port) => `${port} ${client[port].ok}/${client[port].sent}`).join(', ')}; slow connections: ${PORTS.reduce((n, port) => n + slow[port].got408, 0)} × 408, 503 column = refused past 512 per address` },
    };
  } finally {
    running = false;
    for (const s of sockets) s.destroy();
    agent.destroy();
    await platform?.cleanup();
    await sub.stop();
  }
}

if (isMain(import.meta.url)) {
  const args = parseProbeArgs(process.argv.slice(2), { durationS: 30, extra: { connections: 600 } });
  await runAsScript(async () => [await probeFlood({ durationS: args.durationS, connections: args.extra['connections'] ?? 600 })]);
}
