/**
 * A `wisp up` for a probe: free loopback ports, a temp state dir, a unique Redis key prefix; knows whether the
 * process died on its own (a crash) and sends the control API token from `<state-dir>/token` when that file exists.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deleteKeys } from '../../support/redis.js';
import { waitFor } from '../../support/wait.js';
import { WispUp } from './wisp.js';
import { httpCall } from './http.js';

export const NS = 'default';

export interface BrokerSpec {
  name: string;
  brokerClass: 'Memory' | 'Redis';
  annotations?: Record<string, string>;
}

export interface TriggerSpec {
  name: string;
  broker: string;
  subscriber: string;
  delivery?: Record<string, unknown>;
  annotations?: Record<string, string>;
}

export class Platform {
  /** Platforms started and not yet cleaned up: what a probe script stops when it is interrupted. */
  static readonly live = new Set<Platform>();
  readonly redisPrefix: string;
  /** Exits of `wisp up` that the probe did not ask for (signal or code), with the output tail. */
  readonly crashes: string[] = [];
  #stopping = false;

  private constructor(readonly wisp: WispUp) {
    this.redisPrefix = wisp.env['WISP_REDIS_PREFIX'] ?? '';
  }

  static async start(opts: { env?: Record<string, string> } = {}): Promise<Platform> {
    const prefix = `wisp-probe-${randomUUID().slice(0, 8)}`;
    const wisp = await WispUp.create({ WISP_REDIS_PREFIX: prefix, ...opts.env });
    const p = new Platform(wisp);
    Platform.live.add(p);
    try {
      await p.#start();
    } catch (err) {
      await p.cleanup();
      throw err;
    }
    return p;
  }

  async #start(): Promise<void> {
    this.#stopping = false;
    await this.wisp.start();
    const child = this.wisp.child;
    child?.once('exit', (code, signal) => {
      if (this.#stopping) return;
      this.crashes.push(`wisp up exited by itself (code ${String(code)}, signal ${String(signal)}); last output:\n${this.wisp.output.split('\n').slice(-20).join('\n')}`);
    });
  }

  get ports(): { ingress: number; broker: number; api: number } {
    return this.wisp.ports;
  }

  get alive(): boolean {
    const c = this.wisp.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** The control API token, when this version of wisp writes `<state-dir>/token`. Re-read on each call (a restart may rotate it). */
  token(): string | undefined {
    const file = join(this.wisp.stateDir, 'token');
    if (!existsSync(file)) return undefined;
    const t = readFileSync(file, 'utf8').trim();
    return t === '' ? undefined : t;
  }

  authHeaders(): Record<string, string> {
    const t = this.token();
    return t === undefined ? {} : { authorization: `Bearer ${t}` };
  }

  /** PUT one object through the control API; throws unless 200/201. */
  async put(plural: string, obj: { metadata: { name: string; [k: string]: unknown }; [k: string]: unknown }, group = 'eventing.knative.dev'): Promise<void> {
    const res = await httpCall({
      port: this.ports.api,
      method: 'PUT',
      path: `/apis/${group}/v1/namespaces/${NS}/${plural}/${obj.metadata.name}`,
      headers: { 'content-type': 'application/json', ...this.authHeaders() },
      body: JSON.stringify(obj),
      timeoutMs: 10_000,
    });
    if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${plural}/${obj.metadata.name}: ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
  }

  async waitReady(plural: string, name: string, group = 'eventing.knative.dev'): Promise<void> {
    await waitFor(
      async () => {
        const res = await httpCall({ port: this.ports.api, path: `/apis/${group}/v1/namespaces/${NS}/${plural}/${name}`, headers: this.authHeaders(), timeoutMs: 5000 });
        if (res.status !== 200) return false;
        const obj = JSON.parse(res.body.toString('utf8')) as { status?: { conditions?: { type: string; status: string }[] } };
        return obj.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      },
      { timeoutMs: 30_000, intervalMs: 50, what: `${plural}/${name} Ready` },
    );
  }

  async broker(b: BrokerSpec): Promise<void> {
    await this.put('brokers', {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: { name: b.name, namespace: NS, annotations: { ...b.annotations, 'eventing.knative.dev/broker.class': b.brokerClass } },
    });
    await this.waitReady('brokers', b.name);
  }

  async trigger(t: TriggerSpec): Promise<void> {
    await this.put('triggers', {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: t.name, namespace: NS, ...(t.annotations ? { annotations: t.annotations } : {}) },
      spec: { broker: t.broker, subscriber: { uri: t.subscriber }, ...(t.delivery ? { delivery: t.delivery } : {}) },
    });
    await this.waitReady('triggers', t.name);
  }

  /** Is the control API still answering? */
  async healthy(): Promise<boolean> {
    try {
      const res = await httpCall({ port: this.ports.api, path: '/healthz', timeoutMs: 5000 });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  async kill9(): Promise<void> {
    this.#stopping = true;
    await this.wisp.stop('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.#start();
  }

  /** Stops `wisp up` (SIGTERM, SIGKILL after 15 s), removes its state dir and its Redis keys. */
  async cleanup(): Promise<void> {
    Platform.live.delete(this);
    this.#stopping = true;
    await this.wisp.cleanup();
    if (this.redisPrefix !== '') await deleteKeys(this.redisPrefix).catch(() => undefined);
  }
}
