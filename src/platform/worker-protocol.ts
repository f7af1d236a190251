/**
 * The messages between `wisp up` (the primary) and its data-plane workers (workers.ts, worker-main.ts), over the
 * node:cluster IPC channel with the `advanced` serialization (structured clone: Maps pass as they are).
 */
import type { RevisionState, RouteEntry } from '../../activator/index.js';
import type { KObject } from '../api/types.js';
import type { WatchEventType } from '../control/resource-store.js';
import type { BrokerClass } from './types.js';

/** What a worker is started with (env WISP_DATA_PLANE_WORKER, JSON). */
export interface WorkerConfig {
  index: number;
  count: number;
  host: string;
  ingressPort: number;
  brokerPort: number;
  /** The primary's autoscaler stats endpoint (autoscaler/stats-server.ts), on loopback. */
  statsUrl: string;
  /** Base of Brokers' addresses, as the primary publishes them. */
  brokerUrlBase: string;
  defaultBrokerClass: BrokerClass;
  redis: { url: string; prefix: string };
  kafkaBrokers: string[];
  maxBacklog?: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  logFormat: 'text' | 'json';
}

export const WORKER_CONFIG_ENV = 'WISP_DATA_PLANE_WORKER';

/** A mirrored object: its kind by plural name and group (kinds.ts's kindByName key). */
export interface MirroredObject {
  kind: string;
  object: KObject;
}

export type PrimaryMessage =
  /** Everything the worker serves from, sent once it said hello; it then listens and answers `ready`. */
  | { t: 'init'; seq: number; objects: MirroredObject[]; hosts: Map<string, RouteEntry>; revisions: { state: RevisionState; forwarded: boolean }[] }
  /** `seq` numbers the primary's mirrored changes: the worker acknowledges them (`synced`) once reconciled. */
  | { t: 'object'; seq: number; type: WatchEventType; kind: string; object: KObject }
  | { t: 'routing'; hosts: Map<string, RouteEntry> }
  | { t: 'revision'; state: RevisionState; forwarded: boolean }
  | { t: 'remove-revision'; key: string }
  /** Drain and exit 0. */
  | { t: 'shutdown' };

export type WorkerMessage =
  | { t: 'hello' }
  /** Listening on the shared ports (as bound) and on its private forwarding port; eventing synced. */
  | { t: 'ready'; ingressPort: number; brokerPort: number; privatePort: number }
  /** Every mirrored change up to `seq` is reconciled: its Brokers and Triggers are served. */
  | { t: 'synced'; seq: number }
  | { t: 'failed'; message: string };

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}

export function isPrimaryMessage(m: unknown): m is PrimaryMessage {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}
