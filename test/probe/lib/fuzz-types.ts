/** The shape of one fuzz case: how to build a request, and which answers are right. */

export type Port = 'broker' | 'api' | 'ingress';

export interface FuzzContext {
  /** `/default/<broker>`, alternating between the Memory and the Redis broker. */
  brokerPath(): string;
  /** A fresh CloudEvent id naming the case. */
  id(tag: string): string;
  /** Authorization header for the control API, when `<state-dir>/token` exists. */
  auth(): Record<string, string>;
  /** A small pool of object names, so hostile objects that were accepted replace each other. */
  name(tag: string): string;
}

export interface FuzzRequest {
  port: Port;
  data: Buffer | (Buffer | string)[];
  gapMs?: number;
  timeoutMs?: number;
  head?: boolean;
  /** Events this request carries: delivered iff answered 202. */
  ids?: string[];
  /** id → the exact bytes the subscriber must receive as the body. */
  exact?: Map<string, Buffer>;
  /** id → ce- extensions that must arrive unchanged when the event is accepted. */
  extensions?: Map<string, Record<string, string>>;
  /** Sent without the control API token on purpose (expects 401 once auth exists). */
  noToken?: boolean;
  /** id → header names that must NOT appear on the delivery (header injection through attribute values). */
  forbidden?: Map<string, string[]>;
}

export interface FuzzCase {
  name: string;
  port: Port;
  /** Relative frequency; expensive cases get 1. */
  weight: number;
  /** The right answer(s), in words. */
  expect: string;
  ok(status: number | undefined, failure: string | undefined, head: string): boolean;
  make(ctx: FuzzContext): FuzzRequest;
  /** Sent without the token on purpose: checked by the auth invariant, not the per-case one. */
  noToken?: boolean;
}

export const is =
  (...codes: number[]) =>
  (s: number | undefined): boolean =>
    s !== undefined && codes.includes(s);
export const is4xx = (s: number | undefined): boolean => s !== undefined && s >= 400 && s < 500;
/** A 4xx, or the server closing the connection without an answer (node's parser on bytes that are not HTTP). */
export const is4xxOrClosed = (s: number | undefined, f: string | undefined): boolean => is4xx(s) || (s === undefined && (f === 'closed' || f === 'reset'));
