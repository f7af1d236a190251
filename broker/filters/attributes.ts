/** Reading CloudEvent attributes for the Trigger filter dialects (string matching). Pure. */
import type { CloudEvent } from 'cloudevents';
import { readAttribute } from '../cesql/index.js';

/**
 * Context attributes Knative's `filter.attributes` always sees (possibly as ""), so an empty filter value
 * matches them even when the event leaves them out; extensions must be present.
 */
export const CONTEXT_ATTRIBUTES: ReadonlySet<string> = new Set([
  'specversion',
  'type',
  'source',
  'subject',
  'id',
  'time',
  'dataschema',
  'schemaurl',
  'datacontenttype',
  'datacontentencoding',
]);

export type EventRecord = Readonly<Record<string, unknown>>;

export function asRecord(event: CloudEvent<unknown>): EventRecord {
  return event as unknown as EventRecord;
}

/** The attribute (core or extension) as a string, or undefined when absent. Booleans read `true`/`false`. */
export function attributeString(event: EventRecord, name: string): string | undefined {
  const v = readAttribute(event, name);
  return v === undefined ? undefined : typeof v === 'string' ? v : String(v);
}
