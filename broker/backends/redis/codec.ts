/**
 * How one event is stored in a BullMQ job, plus the attempts already made for the trigger. Pure: no I/O.
 *
 * An event whose data is an EventData (every event from the ingress or a reply) is stored as its attributes
 * (`ce`, a JSON object without data) and its data bytes apart: `d` holds them as text when they are UTF-8,
 * `d64` as base64 otherwise, `df` their form. So the data comes back byte for byte; it is never parsed or
 * re-serialised. Other events (built in code) are stored as their structured-mode JSON (`JSON.stringify`,
 * binary data as `data_base64`), as before; jobs written that way still decode.
 */
import { CloudEvent } from 'cloudevents';
import { EventData, isEventData, isUtf8Bytes, type DataForm } from '../../event-data.js';
import type { StoredEvent } from '../../types.js';

export interface EventJobData {
  /** The attributes as a JSON object; without `df`, the whole structured-mode event (`JSON.stringify(event)`). */
  ce: string;
  /** Attempts already made (0 before the first delivery). */
  attempt: number;
  /** Form of the EventData in `d` / `d64`. */
  df?: DataForm;
  /** The data bytes as UTF-8 text. */
  d?: string;
  /** The data bytes as base64 (when they are not UTF-8). */
  d64?: string;
}

/** The job name every event job carries (BullMQ requires one; the trigger is the queue). */
export const EVENT_JOB_NAME = 'cloudevent';

const FORMS: ReadonlySet<string> = new Set<DataForm>(['json', 'text', 'binary']);

export function encodeEvent(event: CloudEvent<unknown>, attempt = 0): EventJobData {
  const data = event.data;
  if (!isEventData(data)) return { ce: JSON.stringify(event), attempt };
  const { data: _data, data_base64: _b64, ...attrs } = event as unknown as Record<string, unknown>;
  const ce = JSON.stringify(attrs);
  if (data.form !== 'binary' && isUtf8Bytes(data.bytes)) return { ce, attempt, df: data.form, d: data.text() };
  return { ce, attempt, df: data.form, d64: data.bytes.toString('base64') };
}

/** Rebuilds the stored event; throws a TypeError on data that was not written by encodeEvent. */
export function decodeEvent(data: unknown): StoredEvent {
  if (typeof data !== 'object' || data === null) throw new TypeError('event job data is not an object');
  const { ce, attempt, df, d, d64 } = data as { ce?: unknown; attempt?: unknown; df?: unknown; d?: unknown; d64?: unknown };
  if (typeof ce !== 'string') throw new TypeError('event job data has no "ce" string');
  const parsed: unknown = JSON.parse(ce);
  if (typeof parsed !== 'object' || parsed === null) throw new TypeError('event job "ce" is not a JSON object');
  let props = parsed as Record<string, unknown>;
  if (df !== undefined) {
    if (typeof df !== 'string' || !FORMS.has(df)) throw new TypeError(`event job has an unknown data form ${JSON.stringify(df)}`);
    let bytes: Buffer;
    if (typeof d === 'string') bytes = Buffer.from(d, 'utf8');
    else if (typeof d64 === 'string') bytes = Buffer.from(d64, 'base64');
    else throw new TypeError('event job has a data form but no "d" or "d64" string');
    props = { ...props, data: new EventData(bytes, df as DataForm) };
  }
  // Not re-validated: the ingress validated the event; a stored event must come back exactly as stored.
  const event = new CloudEvent<unknown>(props as never, false);
  const n = typeof attempt === 'number' && Number.isFinite(attempt) ? Math.max(0, Math.floor(attempt)) : 0;
  return { event, attempt: n };
}
