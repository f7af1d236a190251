/** What one HTTP attempt produced, as the sender reports it. Pure types. */
import type { CloudEvent } from 'cloudevents';

export type SendResult =
  | {
      kind: 'response';
      status: number;
      /** Lower-case header names; repeated headers joined with ', '. */
      headers: Record<string, string>;
      /** At most MAX_RESPONSE_BYTES of the body. */
      body: Buffer;
      /** The body was longer than what was read. */
      truncated: boolean;
    }
  | { kind: 'network-error'; error: Error }
  /** The event cannot be written as an HTTP request (e.g. a header value HTTP does not allow): no attempt can succeed. */
  | { kind: 'unsendable'; error: Error }
  | { kind: 'timeout' };

/** Options of one POST. */
export interface SendOptions {
  /** Per-attempt deadline, from sending the request to the end of the response body. */
  timeoutMs: number;
  /** Adds `Prefer: reply` (subscriber deliveries; not dead-letter sinks). */
  preferReply?: boolean;
}

/** Posts CloudEvents in binary mode. Implemented over undici by HttpSender; the dispatcher takes any. */
export interface Sender {
  send(url: string, event: CloudEvent<unknown>, opts: SendOptions): Promise<SendResult>;
  close(): Promise<void>;
}
