/**
 * What a 2xx response body means (DESIGN §4, Knative's filter handler): empty → plain success; a CloudEvent
 * (binary or structured) → a reply; anything else → a failed delivery. Pure: no I/O.
 *
 * A reply is parsed by the ingress's parser (ingress/parse.ts), so it is held to the same rules as an event a
 * producer posts: `ce-*` values percent-decoded, data kept byte for byte, the same validation and the same
 * attribute limits (broker/limits.ts). A reply that breaks any of them is an invalid reply, handled like any
 * 2xx body that is not a CloudEvent: a failed delivery, not retried, dead-lettered (the sink gets the original
 * event with the reason and the start of the reply body in knativeerrordata), never stored half-right.
 */
import type { CloudEvent } from 'cloudevents';
import { BrokerError } from '../errors.js';
import { parseMessage } from '../ingress/parse.js';

export type ReplyParse = { kind: 'none' } | { kind: 'event'; event: CloudEvent<unknown> } | { kind: 'invalid'; reason: string };

function looksLikeCloudEvent(headers: Record<string, string>): boolean {
  const ct = headers['content-type'] ?? '';
  return /^application\/cloudevents/i.test(ct) || headers['ce-id'] !== undefined || headers['ce-specversion'] !== undefined;
}

export function parseReply(headers: Record<string, string>, body: Buffer, truncated: boolean): ReplyParse {
  if (!looksLikeCloudEvent(headers)) {
    if (body.length === 0) return { kind: 'none' };
    return { kind: 'invalid', reason: 'received a non-empty response not recognized as CloudEvent (the response must be empty or a CloudEvent)' };
  }
  if (truncated) return { kind: 'invalid', reason: 'reply CloudEvent is larger than the response limit' };
  if (/^application\/cloudevents-batch/i.test(headers['content-type'] ?? '')) {
    return { kind: 'invalid', reason: 'a batch of CloudEvents is not a valid reply' };
  }
  try {
    const events = parseMessage({ headers, body });
    const event = events[0];
    if (events.length !== 1 || event === undefined) return { kind: 'invalid', reason: 'a batch of CloudEvents is not a valid reply' };
    return { kind: 'event', event };
  } catch (err) {
    return { kind: 'invalid', reason: `reply is not a valid CloudEvent: ${describe(err)}` };
  }
}

export function describe(err: unknown): string {
  if (err instanceof BrokerError) return err.message;
  if (err instanceof Error) {
    const errors = (err as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) return `${err.message} (${errors.map((e) => JSON.stringify(e)).join('; ')})`;
    return err.message;
  }
  return String(err);
}
