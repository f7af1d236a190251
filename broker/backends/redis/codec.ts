/**
 * How one event is stored in a BullMQ job: the structured-mode CloudEvent JSON (binary data as
 * `data_base64`, every attribute and extension as given) plus the attempts already made for the trigger.
 * Pure: no I/O.
 */
import { CloudEvent } from 'cloudevents';
import type { StoredEvent } from '../../types.js';

export interface EventJobData {
  /** `JSON.stringify(event)`: the CloudEvents JSON format (structured mode). */
  ce: string;
  /** Attempts already made (0 before the first delivery). */
  attempt: number;
}

/** The job name every event job carries (BullMQ requires one; the trigger is the queue). */
export const EVENT_JOB_NAME = 'cloudevent';

export function encodeEvent(event: CloudEvent<unknown>, attempt = 0): EventJobData {
  return { ce: JSON.stringify(event), attempt };
}

/** Rebuilds the stored event; throws a TypeError on data that was not written by encodeEvent. */
export function decodeEvent(data: unknown): StoredEvent {
  if (typeof data !== 'object' || data === null) throw new TypeError('event job data is not an object');
  const { ce, attempt } = data as { ce?: unknown; attempt?: unknown };
  if (typeof ce !== 'string') throw new TypeError('event job data has no "ce" string');
  const parsed: unknown = JSON.parse(ce);
  if (typeof parsed !== 'object' || parsed === null) throw new TypeError('event job "ce" is not a JSON object');
  // Not re-validated: the ingress validated the event; a stored event must come back exactly as stored.
  const event = new CloudEvent<unknown>(parsed as Record<string, unknown> as never, false);
  const n = typeof attempt === 'number' && Number.isFinite(attempt) ? Math.max(0, Math.floor(attempt)) : 0;
  return { event, attempt: n };
}
