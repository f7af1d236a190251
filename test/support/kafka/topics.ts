/**
 * Small helpers for tests that use the real Kafka: unique names and a short-lived admin client.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';

/** `<prefix>-<uuid>`: a topic / consumer group / client id no other test uses. Valid as a Kafka topic name for sane prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

export interface WithAdminOptions {
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** TCP connect timeout (default 3 s). */
  connectionTimeoutMs?: number;
}

/** Connects a kafkajs admin to `brokers` (comma-separated), runs `fn`, and always disconnects. */
export async function withAdmin<T>(brokers: string, fn: (admin: Admin) => Promise<T>, opts: WithAdminOptions = {}): Promise<T> {
  const kafka = new Kafka({
    clientId: uniqueName('wisp-test-admin'),
    brokers: brokers.split(',').map((b) => b.trim()).filter((b) => b !== ''),
    logLevel: logLevel.NOTHING,
    connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}
