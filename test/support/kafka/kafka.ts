/**
 * A real single-node Apache Kafka (KRaft, broker+controller in one JVM) for Wisp's tests and `npm run kafka`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../wait.js';
import { brokerJvmArgs, clusterIdFrom, DEFAULT_HEAP_MB, LineTail, log4jProperties, serverProperties } from './config.js';
import { KafkaSupportError } from './errors.js';
import { ensureKafkaJars } from './jars.js';
import { requireJava, runCommand, type Env } from './tools.js';

export { ensureKafkaJars, type EnsureKafkaJarsOptions } from './jars.js';

export interface StartKafkaOptions {
  /** PLAINTEXT port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** JVM max heap in MiB (default 512). */
  heapMb?: number;
  log?: (m: string) => void;
  /** How long to wait for the broker to answer describeCluster (default 60 s). */
  readyTimeoutMs?: number;
  /** Environment for `java`/`mvn` lookup and WISP_CACHE_DIR; defaults to process.env. */
  env?: Env;
}

export interface RunningKafka {
  /** Bootstrap address, e.g. `127.0.0.1:40123`: what WISP_KAFKA_BROKERS would hold. */
  brokers: string;
  /** SIGTERM (controlled shutdown), SIGKILL after a bound, then removes the data dir. Idempotent. */
  stop(): Promise<void>;
  /** Takes the broker down (controlled shutdown) and keeps its data: clients see connections refused. */
  down(): Promise<void>;
  /** Starts a broker taken down() again on the same ports and data; resolves once clients can use it. */
  up(): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const FORMAT_TIMEOUT_MS = 60_000;

function newClusterId(): string {
  for (;;) {
    const id = clusterIdFrom(randomBytes(16));
    if (id !== undefined) return id;
  }
}

/** Starts Kafka and resolves once a client can describe the cluster. */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<RunningKafka> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const heapMb = opts.heapMb ?? DEFAULT_HEAP_MB;
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  await requireJava(env);
  const libsDir = await ensureKafkaJars({ log, env });
  const port = opts.port ?? (await freePort());
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();

  const dir = await mkdtemp(join(tmpdir(), 'wisp-kafka-'));
  const propsFile = join(dir, 'server.properties');
  const log4jFile = join(dir, 'log4j.properties');
  await writeFile(propsFile, serverProperties({ port, controllerPort, logDir: join(dir, 'data') }));
  await writeFile(log4jFile, log4jProperties());
  const jvm = brokerJvmArgs({ heapMb, libsDir, log4jFile });
  const started = Date.now();

  try {
    const clusterId = newClusterId();
    const fmt = await runCommand(
      'java',
      [...jvm.filter((a) => !a.startsWith('-Xm')), '-Xmx256m', 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile],
      { env, timeoutMs: FORMAT_TIMEOUT_MS },
    );
    if (fmt.code !== 0) {
      throw new KafkaSupportError('WISP_ERR_KAFKA_FORMAT_FAILED', `kafka.tools.StorageTool format failed (exit ${String(fmt.code ?? fmt.signal)}):\n${fmt.output}`);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const brokers = `127.0.0.1:${port}`;
  const launch = async (): Promise<BrokerProcess> => {
    const child = spawn('java', [...jvm, 'kafka.Kafka', propsFile], {
      env: env as NodeJS.ProcessEnv,
      cwd: dir,
      detached: true, // own process group: Ctrl-C in a terminal reaches us, and we shut Kafka down in order
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const broker = new BrokerProcess(child, dir);
    try {
      await waitUntilReady(brokers, broker, readyTimeoutMs);
    } catch (err) {
      await broker.stop();
      throw err;
    }
    return broker;
  };
  log(`starting Kafka ${brokers} (controller 127.0.0.1:${controllerPort}, heap ${heapMb} MiB, data ${dir})`);
  let broker: BrokerProcess | undefined = await launch();
  log(`Kafka ${brokers} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    brokers,
    stop: async () => {
      if (broker) await broker.stop();
      else await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
    down: async () => {
      await broker?.halt();
      broker = undefined;
    },
    up: async () => {
      if (broker) throw new KafkaSupportError('WISP_ERR_KAFKA_RUNNING', `Kafka at ${brokers} is already up`);
      broker = await launch();
    },
  };
}

/** The broker JVM: its output tail, exit, and an ordered stop that always removes the data dir. */
class BrokerProcess {
  readonly tail = new LineTail(40);
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exit: Promise<void>;
  private stopping: Promise<void> | undefined;
  private readonly killOnExit = (): void => this.signal('SIGKILL');

  constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => this.tail.push(c));
    child.stderr?.setEncoding('utf8').on('data', (c: string) => this.tail.push(c));
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      });
      child.once('error', (err) => {
        this.tail.push(`spawn error: ${err.message}\n`);
        this.exited = { code: null, signal: null };
        resolve();
      });
    });
    // If our process exits without calling stop(), don't leave a JVM holding ports.
    process.once('exit', this.killOnExit);
  }

  /** SIGTERM, SIGKILL after a bound, then removes the data dir. */
  stop(): Promise<void> {
    this.stopping ??= this.halt().then(() => rm(this.dir, { recursive: true, force: true, maxRetries: 3 }));
    return this.stopping;
  }

  /** SIGTERM (controlled shutdown), SIGKILL after a bound; the data dir stays. */
  async halt(): Promise<void> {
    if (!this.exited) {
      this.signal('SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_GRACE_MS).unref());
      if ((await Promise.race([this.exit.then(() => 'exited' as const), timer])) === 'timeout') {
        this.signal('SIGKILL');
        await this.exit;
      }
    }
    process.removeListener('exit', this.killOnExit);
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, sig); // the whole process group
    } catch {
      try {
        this.child.kill(sig);
      } catch {
        // already gone
      }
    }
  }
}

async function waitUntilReady(brokers: string, broker: BrokerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({
    clientId: 'wisp-kafka-ready-probe',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  let last = 'no attempt yet';
  for (;;) {
    if (broker.exited) {
      throw new KafkaSupportError(
        'WISP_ERR_KAFKA_EXITED',
        `Kafka exited during startup (code ${String(broker.exited.code)}, signal ${String(broker.exited.signal)}). Last output:\n${broker.tail.text()}`,
      );
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
      last = `describeCluster: ${cluster.brokers.length} brokers, controller ${String(cluster.controller)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    if (Date.now() > deadline) {
      throw new KafkaSupportError(
        'WISP_ERR_KAFKA_START_TIMEOUT',
        `Kafka at ${brokers} did not answer describeCluster within ${timeoutMs} ms (last: ${last}). Last output:\n${broker.tail.text() || '<none>'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
