import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WispError } from '../../../src/errors.js';
import { KAFKA_SOURCE_ERROR_CODES, KafkaUnreachableError, TopicsNotFoundError } from '../../../src/importers/kafka/index.js';

describe('KafkaSource errors', () => {
  it('every code has a sample, a description, a status and a retriable flag', () => {
    const samples = [
      new KafkaUnreachableError({ source: 'KafkaSource a/b', servers: ['127.0.0.1:1', 'h:2'], why: 'Connection error: ECONNREFUSED' }),
      new TopicsNotFoundError({ source: 'KafkaSource a/b', topics: ['x', 'y'] }),
    ];
    for (const e of samples) expect(e).toBeInstanceOf(WispError);
    expect(new Set(samples.map((e) => e.code))).toEqual(new Set(Object.keys(KAFKA_SOURCE_ERROR_CODES)));
    expect(samples.map((e) => [e.statusCode, e.retriable])).toEqual([
      [503, true],
      [404, true],
    ]);
    expect(samples[0]?.message).toBe('KafkaSource a/b: cannot reach Kafka at 127.0.0.1:1,h:2: Connection error: ECONNREFUSED');
    expect(samples[1]?.message).toBe('KafkaSource a/b: topic(s) not found in the cluster: x, y');
  });

  it('every code used in src/importers/kafka/errors.ts is documented', () => {
    const src = readFileSync(new URL('../../../src/importers/kafka/errors.ts', import.meta.url), 'utf8');
    expect(new Set(src.match(/WISP_ERR_[A-Z_]+/g))).toEqual(new Set(Object.keys(KAFKA_SOURCE_ERROR_CODES)));
  });
});
