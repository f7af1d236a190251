/**
 * The serve engine: haproxy owns the Service ingress port and serves warm revisions itself (Knative's serve mode);
 * everything else (cold or short revisions, traffic splits, unknown hosts, path routes) goes to the Node activator on
 * an internal port, its default backend. The engine sits between the serving reconciler and the activator as the
 * RoutingSink (it forwards every call), learns burst capacity from the autoscaler's decisions, gates the autoscaler's
 * scale-downs and feeds the autoscaler haproxy's concurrency as a second source, as Knative's queue-proxies do.
 *
 * One serialized sync loop applies the difference between the wanted and the applied state: through the runtime API
 * (map values, server addresses and states) in place, in the order proxy flips → servers → serve flips; a reload
 * (debounced) only when revision backends are added or removed. A host points at a backend only once that backend
 * is in the running worker's config.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { RevisionState, RoutingSnapshot, RouteEntry } from '../../../activator/types.js';
import type { Decision } from '../../../autoscaler/decider.js';
import type { Clock, Timer } from '../../clock.js';
import type { RoutingSink } from '../../control/serving/reconciler.js';
import type { ReplicaEndpoint, WorkloadScaler } from '../../runtime/types.js';
import type { Logger } from '../logger.js';
import { parseBackendLoad, refusals } from './cli.js';
import {
  ACTIVATOR_BACKEND,
  DEFAULT_MAXCONN,
  DEFAULT_SLOTS,
  ERROR_MESSAGES,
  ERROR_PAGES,
  backendName,
  keyOfBackend,
  renderConfig,
  renderErrorPage,
  renderMap,
  slotName,
  type BackendSpec,
  type SlotEndpoint,
} from './config.js';
import { ServeEngineStartError } from './errors.js';
import { HaproxyProcess } from './haproxy.js';
import { modeOf, servableHosts, type ServeMode } from './mode.js';
import { LoadWindow } from './stats.js';
import { ScaleGate, type GateEngine } from './gate.js';

/** The autoscaler's side the engine needs: its stats sink and each revision's target-burst-capacity. */
export interface EngineAutoscaler {
  report(key: string, concurrency: number, now: number, source?: string): void;
  spec(key: string): { targetBurstCapacity: number } | undefined;
}

export interface ServeEngineOptions {
  binary: string;
  /** haproxy's nbthread (default 1). */
  threads?: number;
  /** Where haproxy.cfg, the map, the error pages and the master socket live. */
  dir: string;
  clock: Clock;
  log: Logger;
  /** Server slots per revision backend (default 32). */
  slots?: number;
  /** haproxy's global maxconn (default 4000). */
  maxconn?: number;
  /** `show stat` poll period (default 100 ms) and report period to the autoscaler (default 1 s, the activator's). */
  pollMs?: number;
  reportMs?: number;
  /** Debounce of reloads (default 100 ms). */
  reloadDelayMs?: number;
  /** Longest wait for a proxy flip before a scale-down goes ahead anyway (default 5 s). */
  flipTimeoutMs?: number;
  /** The activator's header timeout (ms) and the longest revision timeout (s), for haproxy's own timeouts. */
  headersTimeoutMs?: number;
  maxTimeoutSeconds?: number;
}

/** The source name of the engine's stats at the autoscaler (the activator reports without one): they add up. */
export const ENGINE_STATS_SOURCE = 'serve-engine';

interface Applied {
  /** Revision keys whose backends the running worker has. */
  backends: Set<string>;
  /** host → backend name, as the worker's map holds it. */
  map: Map<string, string>;
  /** key → slot addresses (`host:port` or undefined = maint). */
  slots: Map<string, (string | undefined)[]>;
}

const addr = (ep: SlotEndpoint): string => (ep.host.includes(':') ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`);

export class ServeEngine implements RoutingSink, GateEngine {
  readonly #o: ServeEngineOptions;
  readonly #slotCount: number;
  readonly #proc: HaproxyProcess;
  readonly #configFile: string;
  readonly #mapFile: string;
  readonly #errorDir: string;
  readonly #adminSocket: string;
  #autoscaler: EngineAutoscaler | undefined;
  /** The activator (set by start()): every RoutingSink call is forwarded to it. */
  #activator: RoutingSink = { setRouting: () => undefined, upsertRevision: () => undefined, removeRevision: () => undefined };
  #ingress: { host: string; port: number } | undefined;
  #activatorPort = 0;

  #hosts: ReadonlyMap<string, RouteEntry> = new Map();
  readonly #revisions = new Map<string, RevisionState>();
  readonly #ebc = new Map<string, number>();
  readonly #held = new Map<string, number>();
  /** Stable slot assignment per revision: endpoint per slot. */
  readonly #slots = new Map<string, (ReplicaEndpoint | undefined)[]>();
  #applied: Applied = { backends: new Set(), map: new Map(), slots: new Map() };

  #version = 0;
  #appliedVersion = 0;
  #waiters: { version: number; resolve: () => void }[] = [];
  #pumping = false;
  /** A reload is wanted: the debounce timer runs (armed) or has run (ready). */
  #reloadArmed = false;
  #reloadReady = false;
  #reloadTimer: Timer | undefined;
  #retryTimer: Timer | undefined;
  #running = false;
  #closed = false;

  #gate: ScaleGate | undefined;

  #pollTimer: Timer | undefined;
  #reportTimer: Timer | undefined;
  #polling = false;
  readonly #load = new LoadWindow();

  constructor(opts: ServeEngineOptions) {
    this.#o = opts;
    this.#slotCount = opts.slots ?? DEFAULT_SLOTS;
    this.#configFile = join(opts.dir, 'haproxy.cfg');
    this.#mapFile = join(opts.dir, 'hosts.map');
    this.#errorDir = join(opts.dir, 'errors');
    const masterSocket = join(opts.dir, 'master.sock');
    this.#adminSocket = join(opts.dir, 'admin.sock');
    // sun_path holds 108 bytes on Linux.
    if (Buffer.byteLength(masterSocket) > 100) {
      throw new ServeEngineStartError(`serve engine: the master socket path ${masterSocket} is longer than a Unix socket allows (100 bytes): use a shorter --state-dir`);
    }
    this.#proc = new HaproxyProcess({
      binary: opts.binary,
      configFile: this.#configFile,
      masterSocket,
      adminSocket: this.#adminSocket,
      clock: opts.clock,
      log: opts.log,
      onExit: (code, signal) => this.#crashed(code, signal),
    });
  }

  /** The scaler the autoscaler gets: a scale-down of a served revision first points its hosts at the activator. */
  gate(scaler: WorkloadScaler): WorkloadScaler {
    this.#gate = new ScaleGate(scaler, this);
    return this.#gate;
  }

  /** The autoscaler's decision of a tick: its excess burst capacity decides serve or proxy. */
  decision(key: string, d: Decision): void {
    const before = this.#ebc.get(key);
    this.#ebc.set(key, d.excessBurstCapacity);
    if (before === undefined || before >= 0 !== d.excessBurstCapacity >= 0) this.#bump();
  }

  /** Writes the config and starts haproxy on the ingress port; resolves with the port clients connect to. */
  async start(opts: { activator: RoutingSink; ingressHost: string; ingressPort: number; activatorPort: number; autoscaler: EngineAutoscaler }): Promise<{ port: number }> {
    this.#activator = opts.activator;
    this.#autoscaler = opts.autoscaler;
    this.#activatorPort = opts.activatorPort;
    const port = opts.ingressPort === 0 ? await freePort(opts.ingressHost) : opts.ingressPort;
    this.#ingress = { host: opts.ingressHost, port };
    await mkdir(this.#errorDir, { recursive: true });
    for (const [status, reason] of Object.entries(ERROR_PAGES)) {
      await writeFile(join(this.#errorDir, `${status}.http`), renderErrorPage(Number(status), reason, ERROR_MESSAGES[Number(status)] ?? `${reason}\n`));
    }
    await rm(join(this.#o.dir, 'master.sock'), { force: true });
    await rm(this.#adminSocket, { force: true });
    const rendered = await this.#writeConfig();
    await this.#proc.start();
    this.#applied = rendered;
    this.#running = true;
    this.#o.log.info(`serve engine: haproxy (pid ${this.#proc.pid}, nbthread ${this.#o.threads ?? 1}) on ${opts.ingressHost}:${port}, the activator on 127.0.0.1:${opts.activatorPort}`);
    this.#pollTimer = this.#o.clock.setInterval(() => this.#poll(), this.#o.pollMs ?? 100);
    this.#reportTimer = this.#o.clock.setInterval(() => this.#report(), this.#o.reportMs ?? 1000);
    this.#bump();
    return { port };
  }

  setRouting(snapshot: RoutingSnapshot): void {
    this.#activator.setRouting(snapshot);
    this.#hosts = snapshot.hosts;
    this.#bump();
  }

  upsertRevision(state: RevisionState): void {
    this.#activator.upsertRevision(state);
    this.#revisions.set(state.key, state);
    this.#assignSlots(state.key, state.endpoints);
    this.#bump();
  }

  removeRevision(key: string): void {
    this.#activator.removeRevision(key);
    this.#revisions.delete(key);
    this.#slots.delete(key);
    this.#ebc.delete(key);
    this.#gate?.forget(key);
    this.#bump();
  }

  /** The mode a revision is in as haproxy runs it now: `serve` when one of its hosts points at its backend. */
  appliedMode(key: string): ServeMode {
    const be = backendName(key);
    for (const v of this.#applied.map.values()) if (v === be) return 'serve';
    return 'proxy';
  }

  /** Resolves once everything changed before this call is applied in haproxy (runtime API or reload). */
  settled(): Promise<void> {
    return this.#appliedUpTo(this.#version, true);
  }

  /** A runtime-API command on the current worker (e.g. `show stat`), for tests and diagnostics. */
  command(cmd: string): Promise<string> {
    return this.#proc.command([cmd]);
  }

  /** The ingress port haproxy listens on (0 before start()). */
  get port(): number {
    return this.#ingress?.port ?? 0;
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  /** Soft-stops haproxy (requests in flight finish) and the stats loop. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pollTimer?.cancel();
    this.#reportTimer?.cancel();
    this.#reloadTimer?.cancel();
    this.#retryTimer?.cancel();
    for (const w of this.#waiters.splice(0)) w.resolve();
    await this.#proc.stop();
  }

  // ---- wanted state ----

  #assignSlots(key: string, endpoints: readonly ReplicaEndpoint[]): void {
    const prev = this.#slots.get(key) ?? new Array<ReplicaEndpoint | undefined>(this.#slotCount).fill(undefined);
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    const next = prev.map((ep) => (ep !== undefined && byId.has(ep.id) ? byId.get(ep.id) : undefined));
    const placed = new Set(next.flatMap((e) => (e === undefined ? [] : [e.id])));
    for (const ep of endpoints) {
      if (placed.has(ep.id)) continue;
      const free = next.indexOf(undefined);
      if (free < 0) break; // more endpoints than slots: modeOf keeps the revision on the activator
      next[free] = ep;
    }
    this.#slots.set(key, next);
  }

  #wanted(live: ReadonlySet<string>): { backends: Set<string>; map: Map<string, string> } {
    const servable = servableHosts(this.#hosts);
    const backends = new Set<string>();
    const map = new Map<string, string>();
    const modes = new Map<string, ServeMode>();
    for (const [host, key] of servable) {
      const state = this.#revisions.get(key);
      if (state === undefined) continue;
      backends.add(key);
      let mode = modes.get(key);
      if (mode === undefined) {
        mode = modeOf({
          backendLive: live.has(key),
          ready: state.endpoints.length,
          slots: this.#slotCount,
          failed: state.failure !== undefined,
          targetBurstCapacity: this.#autoscaler?.spec(key)?.targetBurstCapacity,
          excessBurstCapacity: this.#ebc.get(key),
          held: (this.#held.get(key) ?? 0) > 0,
        });
        modes.set(key, mode);
      }
      map.set(host, mode === 'serve' ? backendName(key) : ACTIVATOR_BACKEND);
    }
    return { backends, map };
  }

  #slotAddrs(key: string): (string | undefined)[] {
    return (this.#slots.get(key) ?? new Array<ReplicaEndpoint | undefined>(this.#slotCount).fill(undefined)).map((e) => (e === undefined ? undefined : addr(e)));
  }

  // ---- sync loop ----

  #bump(): void {
    this.#version++;
    if (this.#running && !this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#running && !this.#closed && this.#appliedVersion < this.#version) {
        const v = this.#version;
        const wanted = this.#wanted(this.#applied.backends);
        const needReload = !sameSet(wanted.backends, this.#applied.backends);
        try {
          await this.#applyRuntime(wanted.map);
          if (needReload && this.#reloadReady) {
            const rendered = await this.#writeConfig();
            await this.#proc.reload();
            this.#applied = rendered;
            this.#reloadArmed = false;
            this.#reloadReady = false;
            // Anything changed while the new worker started is re-applied on it by the next round.
            this.#version++;
            continue;
          }
          if (needReload) this.#scheduleReload();
          else if (this.#reloadArmed) {
            // The backends came back to what the worker has: no reload after all.
            this.#reloadTimer?.cancel();
            this.#reloadArmed = false;
            this.#reloadReady = false;
          }
        } catch (err) {
          this.#o.log.error(`serve engine: ${err instanceof Error ? err.message : String(err)}`);
          this.#retryTimer?.cancel();
          this.#retryTimer = this.#o.clock.setTimeout(() => this.#bump(), 1000);
          return;
        }
        this.#appliedVersion = v;
        this.#resolveWaiters(needReload);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #scheduleReload(): void {
    if (this.#reloadArmed) return;
    this.#reloadArmed = true;
    this.#reloadTimer = this.#o.clock.setTimeout(() => {
      this.#reloadTimer = undefined;
      this.#reloadReady = true;
      this.#version++;
      if (!this.#pumping) void this.#pump();
    }, this.#o.reloadDelayMs ?? 100);
  }

  /** Proxy flips, then server changes, then serve flips, in one ordered batch on the current worker. */
  async #applyRuntime(map: Map<string, string>): Promise<void> {
    const applied = this.#applied;
    const first: string[] = [];
    const servers: string[] = [];
    const last: string[] = [];
    const nextMap = new Map(applied.map);
    for (const [host, be] of map) {
      const cur = applied.map.get(host);
      if (cur === be) continue;
      const cmd = cur === undefined ? `add map ${this.#mapFile} ${host} ${be}` : `set map ${this.#mapFile} ${host} ${be}`;
      (be === ACTIVATOR_BACKEND ? first : last).push(cmd);
      nextMap.set(host, be);
    }
    for (const host of applied.map.keys()) {
      if (map.has(host)) continue;
      first.push(`del map ${this.#mapFile} ${host}`);
      nextMap.delete(host);
    }
    const nextSlots = new Map(applied.slots);
    for (const key of applied.backends) {
      const want = this.#slotAddrs(key);
      const have = applied.slots.get(key) ?? [];
      const be = backendName(key);
      want.forEach((a, i) => {
        if (a === have[i]) return;
        const srv = `${be}/${slotName(i)}`;
        if (a === undefined) {
          servers.push(`set server ${srv} state maint`);
        } else {
          const colon = a.lastIndexOf(':');
          if (have[i] !== undefined) servers.push(`set server ${srv} state maint`);
          servers.push(`set server ${srv} addr ${a.slice(0, colon).replace(/^\[|\]$/g, '')} port ${a.slice(colon + 1)}`, `set server ${srv} state ready`);
        }
      });
      nextSlots.set(key, want);
    }
    const cmds = [...first, ...servers, ...last];
    if (cmds.length === 0) return;
    const answer = await this.#proc.command(cmds);
    const refused = refusals(answer);
    this.#applied = { backends: applied.backends, map: nextMap, slots: nextSlots };
    if (refused.length > 0) this.#o.log.warn(`serve engine: haproxy refused: ${refused.join(' | ')}`);
  }

  /** Renders and writes the whole current state (config, map); returns it as what the next worker will hold. */
  async #writeConfig(): Promise<Applied> {
    const backendsNow = this.#wanted(new Set()).backends;
    const wanted = this.#wanted(backendsNow);
    const specs: BackendSpec[] = [];
    const slots = new Map<string, (string | undefined)[]>();
    for (const key of [...backendsNow].sort()) {
      const state = this.#revisions.get(key)!;
      const eps = this.#slots.get(key) ?? new Array<ReplicaEndpoint | undefined>(this.#slotCount).fill(undefined);
      specs.push({ key, containerConcurrency: state.containerConcurrency, timeoutSeconds: state.timeoutSeconds, slots: eps });
      slots.set(key, this.#slotAddrs(key));
    }
    const ingress = this.#ingress!;
    await writeFile(this.#mapFile, renderMap(wanted.map));
    await writeFile(
      this.#configFile,
      renderConfig({
        ingress,
        activatorPort: this.#activatorPort,
        mapFile: this.#mapFile,
        adminSocket: this.#adminSocket,
        errorDir: this.#errorDir,
        threads: this.#o.threads ?? 1,
        maxconn: this.#o.maxconn ?? DEFAULT_MAXCONN,
        activatorTimeoutSeconds: this.#o.maxTimeoutSeconds ?? 3600,
        headersTimeoutMs: this.#o.headersTimeoutMs ?? 60_000,
        keepAliveMs: 5000,
        backends: specs,
      }),
    );
    return { backends: backendsNow, map: wanted.map, slots };
  }

  #appliedUpTo(version: number, includingReload = false): Promise<void> {
    if (this.#closed || (this.#appliedVersion >= version && (!includingReload || !this.#reloadArmed))) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ version: includingReload ? -version : version, resolve }));
  }

  #resolveWaiters(reloadPending: boolean): void {
    this.#waiters = this.#waiters.filter((w) => {
      const full = w.version < 0;
      const v = Math.abs(w.version);
      if (this.#appliedVersion < v || (full && reloadPending)) return true;
      w.resolve();
      return false;
    });
  }

  // ---- scale gate (gate.ts) ----

  /** GateEngine: the revision is served, or about to be. */
  serving(key: string): boolean {
    const be = backendName(key);
    for (const v of this.#applied.map.values()) if (v === be) return true;
    for (const v of this.#wanted(this.#applied.backends).map.values()) if (v === be) return true;
    return false;
  }

  /** GateEngine: the revision's hosts to the activator until released; resolves once applied (at most flipTimeoutMs). */
  async holdProxy(key: string, replicas: number): Promise<() => void> {
    this.#held.set(key, (this.#held.get(key) ?? 0) + 1);
    this.#bump();
    await withTimeout(this.#appliedUpTo(this.#version), this.#o.flipTimeoutMs ?? 5000, this.#o.clock, () =>
      this.#o.log.warn(`serve engine: ${key}: haproxy did not take the proxy flip in time; scaling to ${replicas} anyway`),
    );
    return () => {
      const h = (this.#held.get(key) ?? 1) - 1;
      if (h <= 0) this.#held.delete(key);
      else this.#held.set(key, h);
      this.#bump();
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- stats for the autoscaler ----

  #poll(): void {
    if (this.#polling || !this.#running || this.#closed) return;
    this.#polling = true;
    const served: string[] = [];
    for (const be of this.#applied.map.values()) {
      const key = keyOfBackend(be);
      if (key !== undefined) served.push(key);
    }
    this.#load.served(served);
    this.#proc
      .stats('show stat -1 2 -1')
      .then((csv) => this.#load.sample(parseBackendLoad(csv)))
      .catch((err: unknown) => this.#o.log.debug(`serve engine: show stat: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.#polling = false;
      });
  }

  /** Every second: each backend's average of (queued + in flight) over the interval's polls, as its own source. */
  #report(): void {
    const reports = this.#load.drain();
    const autoscaler = this.#autoscaler;
    if (autoscaler === undefined) return;
    const now = this.#o.clock.now();
    for (const r of reports) {
      if (!this.#revisions.has(r.key)) continue;
      try {
        autoscaler.report(r.key, r.concurrency, now, ENGINE_STATS_SOURCE);
      } catch (err) {
        this.#o.log.warn(`serve engine: report ${r.key} failed: ${String(err)}`);
      }
    }
  }

  // ---- crash ----

  #crashed(code: number | null, signal: NodeJS.Signals | null): void {
    // Not running yet (start-up, a restart in progress): whoever started it reports the failure.
    if (!this.#running) return;
    this.#running = false;
    this.#pollTimer?.cancel();
    this.#reportTimer?.cancel();
    if (this.#closed) return;
    this.#o.log.error(`serve engine: haproxy exited unexpectedly (${signal ?? `code ${code}`}); the ingress port is down, restarting it in 1 s`);
    this.#retryTimer?.cancel();
    this.#retryTimer = this.#o.clock.setTimeout(() => void this.#restart(), 1000);
  }

  async #restart(): Promise<void> {
    if (this.#closed) return;
    try {
      const rendered = await this.#writeConfig();
      await this.#proc.start();
      this.#applied = rendered;
      this.#running = true;
      this.#reloadTimer?.cancel();
      this.#reloadArmed = false;
      this.#reloadReady = false;
      this.#pollTimer = this.#o.clock.setInterval(() => this.#poll(), this.#o.pollMs ?? 100);
      this.#reportTimer = this.#o.clock.setInterval(() => this.#report(), this.#o.reportMs ?? 1000);
      this.#o.log.warn(`serve engine: haproxy restarted (pid ${this.#proc.pid})`);
      this.#bump();
    } catch (err) {
      this.#o.log.error(`serve engine: restarting haproxy failed: ${err instanceof Error ? err.message : String(err)}; trying again in 5 s`);
      this.#retryTimer?.cancel();
      this.#retryTimer = this.#o.clock.setTimeout(() => void this.#restart(), 5000);
    }
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function withTimeout(p: Promise<void>, ms: number, clock: Clock, onTimeout: () => void): Promise<void> {
  return new Promise((resolve) => {
    const t = clock.setTimeout(() => {
      onTimeout();
      resolve();
    }, ms);
    void p.then(() => {
      t.cancel();
      resolve();
    });
  });
}

/** A free port on `host` for haproxy to bind (`--ingress-port 0`: any free port). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}
