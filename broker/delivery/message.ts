/**
 * The HTTP message a delivery sends: binary mode (DESIGN §4), or structured mode when binary mode would not
 * bring the event to the subscriber intact. Pure: no I/O.
 *
 * Structured mode is used when
 *  - the `ce-*` and `content-type` header lines would exceed MAX_BINARY_HEADER_BYTES (broker/limits.ts): a
 *    subscriber's server would answer 431 (Node's default total is 16 KiB, nginx's 8 KiB per line) and the
 *    event be lost. CloudEvents requires forwarding events of up to 64 KB, attributes included, so refusing
 *    them at the ingress is not an option;
 *  - the data came in as bytes (`data_base64`, or a binary-mode body without Content-Type) and there is no
 *    `datacontenttype`: binary mode would have to label the body (the SDK's default, application/json, makes
 *    its receiver fail on non-JSON bytes) and so change the event; structured mode carries it as
 *    `data_base64`, which every SDK reads back as the same bytes. Data built in code (not an EventData, e.g.
 *    a KafkaSource's JSON record value) keeps the SDK's binary mode, where no content type means JSON.
 * Replies and dead-lettered events are delivered by the same rule.
 *
 * The message is computed once per event and shared by every Trigger delivering it (a WeakMap cache; the
 * event is immutable).
 */
import type { CloudEvent } from 'cloudevents';
import { isEventData } from '../event-data.js';
import { MAX_BINARY_HEADER_BYTES } from '../limits.js';
import { buildBinaryMessage, type BinaryMessage } from './binary.js';
import { buildStructuredMessage } from './structured.js';

export interface DeliveryMessage extends BinaryMessage {
  readonly mode: 'binary' | 'structured';
  /** `headers` and `Prefer: reply` (what a Trigger's delivery sends), built once with the message. */
  readonly replyHeaders: readonly string[];
}

const PREFER_REPLY = ['prefer', 'reply'] as const;

const cache = new WeakMap<CloudEvent<unknown>, DeliveryMessage>();

/** The event's delivery message (cached per event). Throws when the data cannot be serialised. */
export function deliveryMessage(event: CloudEvent<unknown>): DeliveryMessage {
  let msg = cache.get(event);
  if (msg === undefined) {
    msg = buildDeliveryMessage(event);
    cache.set(event, msg);
  }
  return msg;
}

export function buildDeliveryMessage(event: CloudEvent<unknown>): DeliveryMessage {
  if (!unlabelledBytes(event)) {
    const binary = buildBinaryMessage(event);
    if (binary.headerBytes <= MAX_BINARY_HEADER_BYTES) return { ...binary, mode: 'binary', replyHeaders: [...binary.headers, ...PREFER_REPLY] };
  }
  const structured = buildStructuredMessage(event);
  return { ...structured, mode: 'structured', replyHeaders: [...structured.headers, ...PREFER_REPLY] };
}

/** Received data that is not JSON and has no datacontenttype to say what it is. */
function unlabelledBytes(event: CloudEvent<unknown>): boolean {
  const data = event.data;
  if (!isEventData(data) || data.form === 'json') return false;
  return event.datacontenttype === undefined || event.datacontenttype === '';
}
