/**
 * Pure pieces of the local Kafka setup: file contents, ids and paths. No I/O here.
 */
import { join } from 'node:path';

export const KAFKA_VERSION = '3.9.2';
export const DEFAULT_HEAP_MB = 512;

export interface ServerPropertiesOptions {
  /** PLAINTEXT listener port on 127.0.0.1 (what clients use). */
  port: number;
  /** KRaft controller listener port on 127.0.0.1. */
  controllerPort: number;
  /** Directory for the broker's log segments and KRaft metadata. */
  logDir: string;
}

/** A single-node KRaft cluster (broker and controller in one process) tuned for tests. */
export function serverProperties(opts: ServerPropertiesOptions): string {
  const lines: Array<[string, string | number]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    ['controller.quorum.voters', `1@127.0.0.1:${opts.controllerPort}`],
    ['listeners', `PLAINTEXT://127.0.0.1:${opts.port},CONTROLLER://127.0.0.1:${opts.controllerPort}`],
    ['advertised.listeners', `PLAINTEXT://127.0.0.1:${opts.port}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
    ['log.dirs', opts.logDir],
    ['num.partitions', 3],
    ['default.replication.factor', 1],
    ['min.insync.replicas', 1],
    ['offsets.topic.replication.factor', 1],
    ['offsets.topic.num.partitions', 10],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    ['transaction.state.log.num.partitions', 5],
    // Consumer groups join immediately instead of waiting 3 s for more members.
    ['group.initial.rebalance.delay.ms', 0],
    ['auto.create.topics.enable', 'false'],
    ['delete.topic.enable', 'true'],
    // Test data is short-lived: keep at most an hour, check often, small segments.
    ['log.retention.ms', 3_600_000],
    ['log.retention.check.interval.ms', 60_000],
    ['log.segment.bytes', 16 * 1024 * 1024],
    ['num.network.threads', 2],
    ['num.io.threads', 4],
    ['num.recovery.threads.per.data.dir', 1],
    ['log.cleaner.threads', 1],
    ['log.cleaner.dedupe.buffer.size', 8 * 1024 * 1024],
    ['socket.request.max.bytes', 104_857_600],
  ];
  return `${lines.map(([k, v]) => `${k}=${escapeValue(String(v))}`).join('\n')}\n`;
}

/** java.util.Properties treats backslashes as escapes (Windows paths); nothing else here needs escaping. */
function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\');
}

/** log4j 1.x (reload4j) configuration: WARN and above to stderr, which startKafka keeps for error messages. */
export function log4jProperties(): string {
  return [
    'log4j.rootLogger=WARN, stderr',
    'log4j.appender.stderr=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stderr.Target=System.err',
    'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n',
    // The state-change and request loggers are chatty even at INFO; keep them at WARN too.
    'log4j.logger.state.change.logger=WARN',
    'log4j.logger.kafka.request.logger=WARN',
    '',
  ].join('\n');
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding (what `StorageTool random-uuid` prints).
 * Like Kafka's Uuid.randomUuid, an id starting with '-' is rejected so it cannot be mistaken for a flag.
 */
export function clusterIdFrom(bytes: Uint8Array): string | undefined {
  if (bytes.length !== 16) throw new Error(`cluster id needs 16 bytes, got ${bytes.length}`);
  const id = Buffer.from(bytes).toString('base64url');
  return id.startsWith('-') ? undefined : id;
}

/** Where resolved jars live: outside the repo, shared by every checkout and run on the machine. */
export function kafkaCacheDir(env: Readonly<Record<string, string | undefined>>, homeDir: string): string {
  const root = env['WISP_CACHE_DIR'] ?? join(homeDir, '.cache', 'wisp');
  return join(root, `kafka-${KAFKA_VERSION}`);
}

/** JVM arguments for the broker process. */
export function brokerJvmArgs(opts: { heapMb: number; libsDir: string; log4jFile: string }): string[] {
  return [
    `-Xmx${opts.heapMb}m`,
    `-Xms${Math.min(opts.heapMb, 128)}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${opts.log4jFile}`,
    '-cp',
    join(opts.libsDir, '*'),
  ];
}

/** Keeps the last `max` lines of a child's output for error messages. */
export class LineTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly max: number) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }

  text(): string {
    const all = this.partial.trim() === '' ? this.lines : [...this.lines, this.partial];
    return all.slice(-this.max).join('\n');
  }
}
