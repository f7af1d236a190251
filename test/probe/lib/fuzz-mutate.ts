/**
 * Random mutations (seeded): valid CloudEvents and valid resources with random attributes dropped, retyped,
 * added or mangled, and random header names and values. The right answer is a 202 (or 2xx for the control API)
 * or a 4xx — never a 5xx, never a hang — and an accepted event must still be delivered (checked by the probe).
 * Mutated Triggers hang off `fuzz-silent`, a Broker that receives no events, so a mutated subscriber URI is never
 * called; only Brokers and Triggers are mutated (no sources: they would send or run something).
 */
import { binaryHeaders, rawRequest, structuredEvent } from './events.js';
import { type FuzzCase, type FuzzContext, is4xx } from './fuzz-types.js';
import type { Rng } from './random.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ANY_NAME = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.';
const LATIN1_PRINTABLE = Array.from({ length: 224 }, (_, i) => String.fromCharCode(i + 32)).filter((c) => c !== '\x7f').join('');

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 7 : 9)) {
    case 0: return rng.int(2) === 0 ? rng.int(1000) : -rng.next() * 1e300;
    case 1: return rng.chance(0.5);
    case 2: return null;
    case 3: return '';
    case 4: return rng.chars(1 + rng.int(40), LATIN1_PRINTABLE);
    case 5: return '\u{1F600}\u0000\ud800' + rng.chars(3, LOWER);
    case 6: return 'x'.repeat(rng.pick([100, 5000, 70_000]));
    case 7: return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    default: return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.chars(1 + rng.int(8), LOWER), randomValue(rng, depth + 1)]));
  }
}

function extensionName(rng: Rng): string {
  return rng.chance(0.6) ? rng.chars(1 + rng.int(20), LOWER) : rng.chars(1 + rng.int(30), ANY_NAME);
}

/** A structured event with 1–4 random mutations, as JSON text (sometimes truncated or wrapped). */
function mutatedStructured(rng: Rng, id: string): string {
  const ev: Record<string, unknown> = structuredEvent(id);
  // `id` is never mutated: the probe follows each event by it.
  const keys = ['specversion', 'source', 'type', 'datacontenttype', 'data', 'subject', 'time', 'dataschema', 'data_base64'];
  for (let m = 1 + rng.int(4); m > 0; m--) {
    const op = rng.int(5);
    const k = rng.pick(keys);
    if (op === 0) delete ev[k];
    else if (op === 1) ev[k] = randomValue(rng);
    else if (op === 2) ev[extensionName(rng)] = randomValue(rng);
    else if (op === 3) ev['specversion'] = rng.pick(['0.3', '1.0', '1', '2.0', '', '1.0 ']);
    else ev['time'] = rng.pick(['2020-01-01T00:00:00Z', '2020-13-45T99:99:99Z', 'now', '1999-12-31T23:59:60Z', '']);
  }
  let text = JSON.stringify(ev);
  if (rng.chance(0.1)) text = text.slice(0, rng.int(text.length));
  if (rng.chance(0.05)) text = `${text.slice(0, -1)},"type":"dup"}`;
  return text;
}

function mutatedBinaryHeaders(rng: Rng, id: string): [string, string][] {
  const h: Record<string, string> = binaryHeaders(id);
  for (let m = 1 + rng.int(4); m > 0; m--) {
    const op = rng.int(5);
    // ce-id is never dropped or changed: the probe follows each event by it.
    if (op === 0) delete h[rng.pick(['ce-specversion', 'ce-source', 'ce-type', 'content-type'])];
    else if (op === 1) h[`ce-${extensionName(rng)}`] = rng.chars(rng.int(30), LATIN1_PRINTABLE).trim() || 'v';
    else if (op === 2) h[rng.pick(['ce-subject', 'ce-source', 'ce-type'])] = rng.pick(['%', '%zz', '%C3%A9', '%E0%A4%A', '%00', 'a%20b', '%F0%9F%98%80']);
    else if (op === 3) h['content-type'] = rng.pick(['application/json', 'text/plain', 'application/cloudevents+json', 'application/cloudevents-batch+json', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', '', 'a/b/c']);
    else h['ce-time'] = rng.pick(['2020-01-01T00:00:00Z', 'garbage', '2020-01-01']);
  }
  return Object.entries(h).filter(([, v]) => v !== '' || rng.chance(0.5));
}

const accepted202or4xx = (s: number | undefined): boolean => s === 202 || is4xx(s);
const applied2xxor4xx = (s: number | undefined): boolean => (s !== undefined && s >= 200 && s < 300) || is4xx(s);

function setAt(rng: Rng, obj: Record<string, unknown>, paths: string[][]): void {
  const path = rng.pick(paths);
  let cur: Record<string, unknown> = obj;
  for (const p of path.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (rng.chance(0.2)) delete cur[last];
  else cur[last] = rng.chance(0.3) ? rng.pick(['PT1S', 'P1D', '-PT1S', 'PT0S', 'exponential', 'linear', 'http://127.0.0.1:9/x', '', '10', 'cesql']) : randomValue(rng);
}

const TRIGGER_PATHS = [
  ['spec', 'broker'], ['spec', 'filter', 'attributes', 'type'], ['spec', 'filters'], ['spec', 'subscriber', 'uri'], ['spec', 'subscriber', 'ref'],
  ['spec', 'delivery', 'retry'], ['spec', 'delivery', 'backoffDelay'], ['spec', 'delivery', 'backoffPolicy'], ['spec', 'delivery', 'timeout'],
  ['metadata', 'annotations', 'wisp.dev/max-in-flight'], ['metadata', 'labels'], ['metadata', 'name'], ['spec', 'filters', '0', 'cesql'], ['kind'], ['apiVersion'],
];
const BROKER_PATHS = [
  ['metadata', 'annotations', 'wisp.dev/max-backlog'], ['metadata', 'annotations', 'eventing.knative.dev/broker.class'], ['spec', 'delivery', 'retry'],
  ['spec', 'delivery', 'deadLetterSink', 'uri'], ['spec', 'config'], ['metadata', 'labels', 'a'], ['metadata', 'namespace'], ['spec'],
];

export function mutationCases(rng: Rng): FuzzCase[] {
  return [
    { name: 'mutated structured event', port: 'broker', weight: 8, expect: '202 or 4xx', ok: accepted202or4xx, make: (c: FuzzContext) => {
      const id = c.id('mut-s');
      return { port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: { 'content-type': 'application/cloudevents+json' }, body: mutatedStructured(rng, id) }), ids: [id] };
    } },
    { name: 'mutated batch', port: 'broker', weight: 3, expect: '202 or 4xx', ok: accepted202or4xx, make: (c: FuzzContext) => {
      const ids = Array.from({ length: 1 + rng.int(4) }, () => c.id('mut-b'));
      const body = `[${ids.map((id) => (rng.chance(0.7) ? JSON.stringify(structuredEvent(id)) : mutatedStructured(rng, id))).join(',')}]`;
      return { port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: { 'content-type': 'application/cloudevents-batch+json' }, body }), ids };
    } },
    { name: 'mutated binary headers', port: 'broker', weight: 8, expect: '202 or 4xx', ok: (s, f) => accepted202or4xx(s) || (s === undefined && f === 'closed'), make: (c: FuzzContext) => {
      const id = c.id('mut-h');
      return { port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: mutatedBinaryHeaders(rng, id), body: rng.chance(0.5) ? '{"a":1}' : Buffer.from(Array.from({ length: rng.int(64) }, () => rng.int(256))) }), ids: [id] };
    } },
    { name: 'api: mutated Trigger', port: 'api', weight: 3, expect: '2xx or 4xx', ok: applied2xxor4xx, make: (c: FuzzContext) => {
      const name = `fuzz-mut-t${rng.int(3)}`;
      const t: Record<string, unknown> = { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name }, spec: { broker: 'fuzz-silent', filter: { attributes: { type: 'x' } }, subscriber: { uri: 'http://127.0.0.1:9/x' } } };
      for (let m = 1 + rng.int(3); m > 0; m--) setAt(rng, t, TRIGGER_PATHS);
      // Whatever the mutation did, the Trigger stays on the silent broker and its name on the URL stays its own.
      (t['spec'] as Record<string, unknown>)['broker'] = 'fuzz-silent';
      return { port: 'api', timeoutMs: 10_000, data: rawRequest({ method: 'PUT', path: `/apis/eventing.knative.dev/v1/namespaces/default/triggers/${name}`, headers: { 'content-type': 'application/json', ...c.auth() }, body: JSON.stringify(t) }) };
    } },
    { name: 'api: mutated Broker', port: 'api', weight: 2, expect: '2xx or 4xx', ok: applied2xxor4xx, make: (c: FuzzContext) => {
      const name = `fuzz-mut-b${rng.int(3)}`;
      const b: Record<string, unknown> = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name, annotations: { 'eventing.knative.dev/broker.class': 'Memory' } } };
      for (let m = 1 + rng.int(3); m > 0; m--) setAt(rng, b, BROKER_PATHS);
      return { port: 'api', timeoutMs: 10_000, data: rawRequest({ method: 'PUT', path: `/apis/eventing.knative.dev/v1/namespaces/default/brokers/${name}`, headers: { 'content-type': 'application/json', ...c.auth() }, body: JSON.stringify(b) }) };
    } },
  ];
}
