/**
 * Builds the immutable SDK `CloudEvent` of an event whose attributes attributes.ts has checked. Pure but for the
 * SDK's own defaulting of `time` (the wall clock, see below).
 *
 * Two builders that give the same result:
 *  - `sdkCloudEvent`: the SDK's constructor in strict mode (it copies the attributes, defaults `time`, checks the
 *    extension names and values, validates 1.0 events against the CloudEvents JSON schema with ajv, and freezes).
 *    The reference, and the path every event that the fast builder is not sure about takes.
 *  - `fastCloudEvent` (the ingress's and the reply parser's): the same object (prototype CloudEvent.prototype, the
 *    same own properties in the same order, frozen) without running the constructor. The constructor was ~10 % of
 *    the broker's CPU per event: a copy and a dozen `delete`s (which turn the copy into a slow dictionary), an ajv
 *    run and a second pass over the names. What it checks beyond attributes.ts is only the schema's formats
 *    (1.0): `source` a URI-reference, `dataschema` a URI, `time` an RFC 3339 date-time. The fast builder takes an
 *    event only when it KNOWS the SDK would accept it: `time` passes the same date and time ranges as the SDK's
 *    date-time format (month 1-12, day within the month, leap years, 23:59:59 at most; a leap second goes to the
 *    SDK); `source` and `dataschema` are values the SDK accepted before (producers send a handful of sources,
 *    over and over: a bounded memo of the SDK's verdicts). Anything else goes through `sdkCloudEvent`, which then
 *    accepts it or rejects it with its own, precise message; so the two accept and reject the same events with the
 *    same messages by construction, and test/unit/broker/ingress/build-event.test.ts checks it on a table.
 *
 * `time`: like the SDK, an event without one gets the current wall-clock time (the SDK reads `new Date()`; the
 * fast builder does the same so that both give the same event).
 */
import { CloudEvent, ValidationError } from 'cloudevents';
import { invalid } from './attributes.js';
import { surelyValidTime } from '../rfc3339.js';

export { surelyValidTime };

export type EventBuilder = (attrs: Record<string, unknown>, data: unknown, stamp?: Readonly<Record<string, string>>) => CloudEvent<unknown>;

/**
 * The SDK's reference build. The SDK validates 1.0 events against the CloudEvents JSON schema (e.g. `source` must
 * be a URI-reference); its complaints are turned into messages naming the attribute. `stamp` attributes are set
 * over the producer's (the ingress's arrival time).
 */
export const sdkCloudEvent: EventBuilder = (attrs, data, stamp) => {
  const props = data === undefined && stamp === undefined ? attrs : { ...attrs, ...stamp, ...(data === undefined ? {} : { data }) };
  try {
    return new CloudEvent<undefined>(props as ConstructorParameters<typeof CloudEvent<undefined>>[0], true);
  } catch (err) {
    throw invalid(describeSdkError(err));
  }
};

function describeSdkError(err: unknown): string {
  if (err instanceof ValidationError && Array.isArray(err.errors) && err.errors.length > 0) {
    const first: unknown = err.errors[0];
    if (typeof first === 'object' && first !== null && 'instancePath' in first) {
      const e = first as { instancePath?: unknown; message?: unknown; params?: { missingProperty?: unknown } };
      const path = typeof e.instancePath === 'string' ? e.instancePath.replace(/^\//, '') : '';
      if (path === '' && e.params?.missingProperty !== undefined) return `missing required attribute "${String(e.params.missingProperty)}"`;
      return `attribute "${path}" ${String(e.message ?? 'is invalid')}`;
    }
  }
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

/** The SDK constructor's own properties, in the order it assigns them; everything else follows as an extension. */
const SDK_ORDER = ['id', 'time', 'type', 'source', 'specversion', 'datacontenttype', 'subject', 'datacontentencoding', 'dataschema', 'data_base64', 'schemaurl', 'data'] as const;
const SDK_OWN: ReadonlySet<string> = new Set(SDK_ORDER);
const EXTENSION_NAME = /^[a-z0-9]+$/;

/**
 * Values of `source` / `dataschema` the SDK's schema accepted. A memo of a pure function, bounded: when it is full
 * it starts over (a producer inventing a new source per event just keeps taking the SDK path).
 */
class Accepted {
  readonly #values = new Set<string>();
  constructor(readonly max: number) {}
  has(v: string): boolean {
    return this.#values.has(v);
  }
  add(v: string): void {
    if (this.#values.size >= this.max) this.#values.clear();
    this.#values.add(v);
  }
}
const MEMO_SIZE = 4096;
const acceptedSources = new Accepted(MEMO_SIZE);
const acceptedSchemas = new Accepted(MEMO_SIZE);

/** The producer's value of `name`, with `stamp` over it (as `{ ...attrs, ...stamp }` gives). */
function valueOf(attrs: Record<string, unknown>, stamp: Readonly<Record<string, string>> | undefined, name: string): unknown {
  return stamp !== undefined && Object.hasOwn(stamp, name) ? stamp[name] : attrs[name];
}

/** Whether the SDK would surely accept the event as it stands; false means "ask the SDK". */
function surelyAccepted(attrs: Record<string, unknown>, data: unknown, stamp: Readonly<Record<string, string>> | undefined): boolean {
  // Binary data is base64-encoded by the constructor; the broker's own data (an EventData) never is.
  if (ArrayBuffer.isView(data)) return false;
  if (stamp !== undefined) for (const name in stamp) if (!SDK_OWN.has(name) && !EXTENSION_NAME.test(name)) return false;
  const version = valueOf(attrs, stamp, 'specversion');
  if (version !== '1.0') return version === '0.3';
  const source = valueOf(attrs, stamp, 'source');
  if (typeof source !== 'string' || !acceptedSources.has(source)) return false;
  const schema = valueOf(attrs, stamp, 'dataschema');
  if (schema !== undefined && (typeof schema !== 'string' || !acceptedSchemas.has(schema))) return false;
  const time = valueOf(attrs, stamp, 'time');
  return time === undefined || (typeof time === 'string' && surelyValidTime(time));
}

/** Remembers the formats of an event the SDK accepted. */
function remember(event: CloudEvent<unknown>): void {
  if (event.specversion !== '1.0') return;
  if (typeof event.source === 'string') acceptedSources.add(event.source);
  if (typeof event.dataschema === 'string') acceptedSchemas.add(event.dataschema);
}

/**
 * The event built as the SDK's constructor builds it, without running it (see the file comment); an event it is
 * not sure of is built by `sdkCloudEvent`. `attrs` have passed attributes.ts's checks (`checkAttributes`).
 */
export const fastCloudEvent: EventBuilder = (attrs, data, stamp) => {
  if (!surelyAccepted(attrs, data, stamp)) {
    const event = sdkCloudEvent(attrs, data, stamp);
    remember(event);
    return event;
  }
  const e = Object.create(CloudEvent.prototype) as Record<string, unknown>;
  for (const name of SDK_ORDER) e[name] = name === 'data' ? data : valueOf(attrs, stamp, name);
  // The SDK fills these when they are falsy; attributes.ts has made sure `id` is there.
  e['time'] ||= new Date().toISOString();
  e['specversion'] ||= '1.0';
  for (const name in attrs) if (!SDK_OWN.has(name)) e[name] = valueOf(attrs, stamp, name);
  if (stamp !== undefined) for (const name in stamp) if (!SDK_OWN.has(name) && !Object.hasOwn(attrs, name)) e[name] = stamp[name];
  return Object.freeze(e) as unknown as CloudEvent<unknown>;
};
