/**
 * `npm run kafka`: a local Kafka for trying Wisp's Kafka broker class by hand.
 * Starts on 127.0.0.1:9092 (or --port N; a free port when 9092 is taken), stays in the foreground, stops on Ctrl-C.
 * `--topic NAME` (repeatable) creates topics once it is up (this Kafka does not auto-create them), e.g. for a KafkaSource.
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { freePort } from '../wait.js';
import { KafkaSupportError } from './errors.js';
import { startKafka, type RunningKafka } from './kafka.js';
import { withAdmin } from './topics.js';

const DEFAULT_PORT = 9092;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function parsePort(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`--port: expected a port number 1-65535, got '${raw}'`);
  return port;
}

async function choosePort(requested: number | undefined): Promise<number> {
  if (requested !== undefined) {
    if (!(await portIsFree(requested))) throw new KafkaSupportError('WISP_ERR_KAFKA_PORT_TAKEN', `port ${requested} on 127.0.0.1 is already in use; pick another with --port N`);
    return requested;
  }
  if (await portIsFree(DEFAULT_PORT)) return DEFAULT_PORT;
  const port = await freePort();
  console.log(`port ${DEFAULT_PORT} is taken; using free port ${port} instead`);
  return port;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', short: 'p' },
      heap: { type: 'string' },
      topic: { type: 'string', short: 't', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'usage: npm run kafka -- [--port N] [--heap MiB] [--topic NAME]...\n' +
        'Starts Apache Kafka 3.9 (KRaft, single node) on 127.0.0.1 until Ctrl-C; --topic creates a topic once it is up.',
    );
    return;
  }
  const port = await choosePort(parsePort(values.port));
  const heapMb = values.heap === undefined ? undefined : Number(values.heap);
  if (heapMb !== undefined && !(Number.isInteger(heapMb) && heapMb >= 128)) throw new Error(`--heap: expected MiB >= 128, got '${values.heap}'`);

  let kafka: RunningKafka | undefined;
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping Kafka…`);
    const done = kafka ? kafka.stop() : Promise.resolve();
    done.then(
      () => {
        console.log('Kafka stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`stopping Kafka failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  kafka = await startKafka({ port, ...(heapMb === undefined ? {} : { heapMb }), log: (m) => console.log(m) });
  if (stopping) {
    await kafka.stop();
    return;
  }
  const topics = values.topic ?? [];
  if (topics.length > 0) {
    const created = await withAdmin(kafka.brokers, (admin) => admin.createTopics({ topics: topics.map((topic) => ({ topic })), waitForLeaders: true }));
    console.log(`topics ${topics.join(', ')}: ${created ? 'created' : 'already there'}`);
  }
  console.log(`Kafka is up: WISP_KAFKA_BROKERS=${kafka.brokers}`);
  console.log('Press Ctrl-C to stop.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
