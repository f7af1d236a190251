/**
 * Knative KafkaSource (sources.knative.dev/v1beta1) schema and semantic validation (what Knative's KafkaSource
 * webhook checks, plus the value rules Kafka itself enforces on topic names). Pure.
 *
 * Accepted Knative fields beyond the core ones: `consumers` (Wisp runs one consumer per source; any count ≥ 1 is
 * accepted) and `ordering` (Wisp always delivers one record at a time per partition, which satisfies both `ordered`
 * and `unordered`). Other fields (`net`, `delivery`...) are warned about as unknown by the generic validator.
 */
import { destinationSchema } from './broker.js';
import { destinationErrors } from './destination.js';
import type { FieldError } from './errors.js';
import type { JsonSchema } from './schema.js';
import { resourceSchema } from './schemas.js';
import { ceOverridesErrors } from './sources.js';
import type { KObject } from './types.js';

const str: JsonSchema = { type: 'string' };

/** Knative's `initialOffset` values. */
export const KAFKA_INITIAL_OFFSETS = ['earliest', 'latest'] as const;
export type KafkaInitialOffset = (typeof KAFKA_INITIAL_OFFSETS)[number];
/** Knative's default: a new consumer group starts at the end of each partition. */
export const DEFAULT_KAFKA_INITIAL_OFFSET: KafkaInitialOffset = 'latest';

export const KAFKA_ORDERINGS = ['ordered', 'unordered'] as const;

export const kafkaSourceSchema: JsonSchema = resourceSchema({
  type: 'object',
  properties: {
    bootstrapServers: { type: 'array', items: str },
    topics: { type: 'array', items: str },
    consumerGroup: str,
    initialOffset: str,
    consumers: { type: 'integer' },
    ordering: str,
    sink: destinationSchema,
    ceOverrides: { type: 'object', properties: { extensions: { type: 'object', additionalProperties: str } } },
  },
});

/** What validation needs of a KafkaSource's spec. */
export interface KafkaSourceSpecShape {
  bootstrapServers?: string[];
  topics?: string[];
  consumerGroup?: string;
  initialOffset?: string;
  consumers?: number;
  ordering?: string;
  sink?: unknown;
  ceOverrides?: { extensions?: Record<string, string> };
}

/** Kafka's legal topic names: 1-249 of `[a-zA-Z0-9._-]`, not `.` or `..`. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** `host:port` (host a name, IPv4 or `[IPv6]`; port 1-65535). */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?):(\d{1,5})$/;

/**
 * The bootstrap servers of a spec as one flat list: Knative allows comma-separated lists inside one entry
 * (`a:9092,b:9092`), as Kafka's `bootstrap.servers` does.
 */
export function bootstrapServerList(servers: readonly string[] | undefined): string[] {
  return (servers ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

function hostPortProblem(entry: string): string | undefined {
  const m = HOST_PORT.exec(entry);
  if (!m) return `invalid server "${entry}": want host:port`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `invalid port in "${entry}": want 1-65535`;
  return undefined;
}

function serverErrors(servers: string[] | undefined): FieldError[] {
  const field = 'spec.bootstrapServers';
  const list = bootstrapServerList(servers);
  if (list.length === 0) return [{ field, message: 'missing field(s): want at least one host:port' }];
  const errs: FieldError[] = [];
  (servers ?? []).forEach((entry, i) => {
    for (const part of bootstrapServerList([entry])) {
      const problem = hostPortProblem(part);
      if (problem !== undefined) errs.push({ field: `${field}[${i}]`, message: problem });
    }
  });
  return errs;
}

function topicErrors(topics: string[] | undefined): FieldError[] {
  const field = 'spec.topics';
  if (topics === undefined || topics.length === 0) return [{ field, message: 'missing field(s): want at least one topic' }];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  topics.forEach((t, i) => {
    if (t === '' || t === '.' || t === '..' || !TOPIC_NAME.test(t)) {
      errs.push({ field: `${field}[${i}]`, message: `invalid topic name "${t}": want 1-249 letters, digits, '.', '_' or '-' (not "." or "..")` });
    } else if (seen.has(t)) {
      errs.push({ field: `${field}[${i}]`, message: `duplicate topic "${t}"` });
    }
    seen.add(t);
  });
  return errs;
}

/** Semantic errors of a KafkaSource whose shape already passed `kafkaSourceSchema`. */
export function kafkaSourceErrors(source: KObject): FieldError[] {
  if (source.spec === undefined) return [{ field: 'spec', message: 'missing field(s): bootstrapServers, topics, sink' }];
  const spec = source.spec as KafkaSourceSpecShape;
  const errs = [...serverErrors(spec.bootstrapServers), ...topicErrors(spec.topics)];
  if (spec.consumerGroup !== undefined && spec.consumerGroup.trim() === '') {
    errs.push({ field: 'spec.consumerGroup', message: 'must not be empty (omit it for the default group)' });
  }
  if (spec.initialOffset !== undefined && !(KAFKA_INITIAL_OFFSETS as readonly string[]).includes(spec.initialOffset)) {
    errs.push({ field: 'spec.initialOffset', message: `invalid value "${spec.initialOffset}": want "earliest" or "latest"` });
  }
  if (spec.consumers !== undefined && spec.consumers < 1) {
    errs.push({ field: 'spec.consumers', message: `invalid value ${spec.consumers}: want at least 1` });
  }
  if (spec.ordering !== undefined && !(KAFKA_ORDERINGS as readonly string[]).includes(spec.ordering)) {
    errs.push({ field: 'spec.ordering', message: `invalid value "${spec.ordering}": want "ordered" or "unordered"` });
  }
  errs.push(...destinationErrors(spec.sink, 'spec.sink'));
  errs.push(...ceOverridesErrors(spec.ceOverrides?.extensions));
  return errs;
}
