/**
 * What a 2xx response body means (DESIGN §4, Knative's filter handler): empty → plain success; a CloudEvent
 * (binary or structured, parsed by the SDK and validated) → a reply; anything else → a failed delivery.
 * Pure: no I/O.
 */
import { CloudEvent, HTTP } from 'cloudevents';

export type ReplyParse = { kind: 'none' } | { kind: 'event'; event: CloudEvent<unknown> } | { kind: 'invalid'; reason: string };

const TEXTUAL = /^(application\/(cloudevents(-batch)?\+json|json|[^;]*\+json|xml|[^;]*\+xml)|text\/)/i;

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
  const ct = headers['content-type'] ?? '';
  const payload: string | Buffer | undefined = body.length === 0 ? undefined : ct === '' || TEXTUAL.test(ct) ? body.toString('utf8') : body;
  try {
    const parsed = HTTP.toEvent({ headers, body: payload });
    if (Array.isArray(parsed)) return { kind: 'invalid', reason: 'a batch of CloudEvents is not a valid reply' };
    const event = parsed instanceof CloudEvent ? parsed : new CloudEvent(parsed, false);
    event.validate();
    return { kind: 'event', event };
  } catch (err) {
    return { kind: 'invalid', reason: `reply is not a valid CloudEvent: ${describe(err)}` };
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const errors = (err as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) return `${err.message} (${errors.map((e) => JSON.stringify(e)).join('; ')})`;
    return err.message;
  }
  return String(err);
}
