import { describe, expect, it } from 'vitest';
import { kindByName } from '../../../src/api/kinds.js';
import type { WatchEvent } from '../../../src/control/resource-store.js';
import { MirrorReadOnlyError, MirrorStore } from '../../../src/platform/mirror-store.js';

const TRIGGERS = kindByName('triggers.eventing.knative.dev')!;
const BROKERS = kindByName('brokers.eventing.knative.dev')!;
const ROUTES = kindByName('routes')!;
const trigger = (ns: string, name: string, broker = 'default') => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { namespace: ns, name }, spec: { broker } });

describe("a data-plane worker's mirror of the primary's resources", () => {
  it('serves what it was loaded with and each change after, to reads and watchers, sorted by namespace and name', () => {
    const store = new MirrorStore({ kinds: [TRIGGERS, BROKERS], onError: (err) => { throw err; } });
    store.load([{ kind: 'triggers.eventing.knative.dev', object: trigger('b', 't1') }, { kind: 'triggers.eventing.knative.dev', object: trigger('a', 't2') }]);
    const events: WatchEvent[] = [];
    store.watch((ev) => events.push(ev));
    expect(store.list(TRIGGERS).map((t) => `${t.metadata.namespace}/${t.metadata.name}`)).toEqual(['a/t2', 'b/t1']);
    store.change('MODIFIED', 'triggers.eventing.knative.dev', trigger('b', 't1', 'other'));
    store.change('DELETED', 'triggers.eventing.knative.dev', trigger('a', 't2'));
    expect(store.get(TRIGGERS, 'b', 't1')?.spec).toEqual({ broker: 'other' });
    expect(store.get(TRIGGERS, 'a', 't2')).toBeUndefined();
    expect(store.list(TRIGGERS, 'b')).toHaveLength(1);
    expect(events.map((e) => `${e.type} ${e.kind.kind} ${e.object.metadata.name}`)).toEqual(['MODIFIED Trigger t1', 'DELETED Trigger t2']);
    // A read is a copy: changing it changes nothing in the mirror.
    store.get(TRIGGERS, 'b', 't1')!.metadata.name = 'changed';
    expect(store.get(TRIGGERS, 'b', 't1')?.metadata.name).toBe('t1');
  });

  it('holds only the kinds it mirrors, and refuses every write with a reason', () => {
    const store = new MirrorStore({ kinds: [TRIGGERS], onError: () => undefined });
    expect(store.serves(TRIGGERS)).toBe(true);
    expect(store.serves(ROUTES)).toBe(false);
    store.change('ADDED', 'routes', { apiVersion: 'serving.knative.dev/v1', kind: 'Route', metadata: { namespace: 'a', name: 'r' } });
    expect(store.list(ROUTES)).toEqual([]);
    expect(() => store.updateStatus()).toThrow(MirrorReadOnlyError);
    expect(() => store.apply()).toThrow(/writes none/);
  });
});
