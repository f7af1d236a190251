import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { KObject } from '../../../src/api/types.js';
import { AlreadyExistsError, NotFoundError, StoreCorruptError } from '../../../src/control/errors.js';
import { Store, type WatchEvent } from '../../../src/control/store.js';
import { ManualClock } from '../../support/clock.js';
import { waitFor } from '../../support/wait.js';

const SERVICE = kindByName('ksvc') as KindInfo;
const REVISION = kindByName('revision') as KindInfo;

function service(name: string, image = 'img:1', ns = 'default'): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: { template: { spec: { containers: [{ image }] } } },
  };
}

describe('Store', () => {
  let dir: string;
  const opened: Store[] = [];
  const open = async (opts: Parameters<typeof Store.open>[0] = { dir }): Promise<Store> => {
    const s = await Store.open(opts);
    opened.push(s);
    return s;
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-store-'));
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies: created, then unchanged, then configured with a generation bump', async () => {
    const store = await open({ dir, clock: new ManualClock(Date.UTC(2026, 0, 2)) });
    const a = store.apply(service('hello'));
    expect(a.result).toBe('created');
    expect(a.object.metadata).toMatchObject({ generation: 1, namespace: 'default', creationTimestamp: '2026-01-02T00:00:00.000Z' });
    expect(a.object.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const b = store.apply(service('hello'));
    expect(b.result).toBe('unchanged');
    expect(b.object.metadata.resourceVersion).toBe(a.object.metadata.resourceVersion);
    const c = store.apply(service('hello', 'img:2'));
    expect(c.result).toBe('configured');
    expect(c.object.metadata.generation).toBe(2);
    expect(c.object.metadata.uid).toBe(a.object.metadata.uid);
    expect(Number(c.object.metadata.resourceVersion)).toBeGreaterThan(Number(a.object.metadata.resourceVersion));
  });

  it('keeps status across apply and bumps generation only for user content', async () => {
    const store = await open({});
    store.apply(service('hello'));
    const withStatus = store.updateStatus(SERVICE, 'default', 'hello', { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] });
    expect(withStatus.metadata.generation).toBe(1);
    const labelled = service('hello');
    labelled.metadata.labels = { app: 'other' };
    const r = store.apply(labelled);
    expect(r.result).toBe('configured');
    expect(r.object.metadata.generation).toBe(2);
    expect(r.object.status).toEqual({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] });
    const ownerOnly = structuredClone(labelled);
    ownerOnly.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'X', name: 'x' }];
    const o = store.apply(ownerOnly);
    expect(o.result).toBe('configured');
    expect(o.object.metadata.generation).toBe(2);
  });

  it('emits ADDED, MODIFIED and DELETED; an equal status writes nothing; a throwing listener is reported, not fatal', async () => {
    const errors: unknown[] = [];
    const store = await open({ onError: (err) => errors.push(err) });
    const events: string[] = [];
    store.watch(() => {
      throw new Error('listener bug');
    });
    const stop = store.watch((ev: WatchEvent) => events.push(`${ev.type} ${ev.kind.kind} ${ev.object.metadata.name}`));
    store.apply(service('hello'));
    store.updateStatus(SERVICE, 'default', 'hello', { url: 'http://x' });
    store.updateStatus(SERVICE, 'default', 'hello', { url: 'http://x' });
    store.delete(SERVICE, 'default', 'hello');
    stop();
    store.apply(service('after'));
    expect(events).toEqual(['ADDED Service hello', 'MODIFIED Service hello', 'DELETED Service hello']);
    expect(errors).toHaveLength(4);
  });

  it('lists one namespace or all, sorted, and separates kinds', async () => {
    const store = await open({});
    store.apply(service('b', 'i', 'z'));
    store.apply(service('a', 'i', 'z'));
    store.apply(service('c', 'i', 'a'));
    store.create({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'c-00001', namespace: 'a' }, spec: { containers: [] } });
    expect(store.list(SERVICE).map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['a/c', 'z/a', 'z/b']);
    expect(store.list(SERVICE, 'z').map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(store.list(REVISION).map((o) => o.metadata.name)).toEqual(['c-00001']);
    expect(() => store.create(service('c', 'i', 'a'))).toThrow(AlreadyExistsError);
    expect(() => store.updateStatus(SERVICE, 'a', 'nope', {})).toThrow(NotFoundError);
    expect(store.delete(SERVICE, 'a', 'nope')).toBeUndefined();
  });

  it('returns copies: callers cannot change stored objects', async () => {
    const store = await open({});
    const { object } = store.apply(service('hello'));
    object.metadata.name = 'mutated';
    (store.get(SERVICE, 'default', 'hello') as KObject).metadata.labels = {};
    expect(store.get(SERVICE, 'default', 'hello')?.metadata).toMatchObject({ name: 'hello', labels: { app: 'hello' } });
  });

  it('persists across reopen, including resourceVersion and revision counters', async () => {
    const first = await open();
    first.apply(service('hello'));
    first.updateStatus(SERVICE, 'default', 'hello', { url: 'http://hello' });
    expect(first.nextRevisionNumber('default', 'hello')).toBe(1);
    expect(first.nextRevisionNumber('default', 'hello')).toBe(2);
    const rv = first.resourceVersion;
    await first.close();

    const second = await open();
    expect(second.get(SERVICE, 'default', 'hello')).toEqual(first.get(SERVICE, 'default', 'hello'));
    expect(second.resourceVersion).toBe(rv);
    expect(second.nextRevisionNumber('default', 'hello')).toBe(3);
    expect(second.nextRevisionNumber('default', 'other')).toBe(1);
    expect(second.apply(service('x')).object.metadata.resourceVersion).toBe(String(Number(rv) + 1));
  });

  it('coalesces writes until the flush delay passes on its clock', async () => {
    const clock = new ManualClock();
    const store = await open({ dir, clock, flushDelayMs: 100 });
    store.apply(service('a'));
    store.apply(service('b'));
    await expect(stat(join(dir, 'store.json'))).rejects.toThrow(/ENOENT/);
    clock.advance(100);
    const text = await waitFor(async () => readFile(join(dir, 'store.json'), 'utf8').catch(() => ''));
    expect((JSON.parse(text) as { objects: KObject[] }).objects.map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
  });

  it('lists by label selector within a kind and namespace, following label changes and deletes', async () => {
    const store = await open({});
    const rev = (name: string, svc: string, ns = 'default'): KObject => ({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: { name, namespace: ns, labels: { 'serving.knative.dev/service': svc, tier: 'web' } },
      spec: { containers: [{ image: 'img:1' }] },
    });
    store.apply(rev('a-00001', 'a'));
    store.apply(rev('a-00002', 'a'));
    store.apply(rev('b-00001', 'b'));
    store.apply(rev('a-00001', 'a', 'other'));
    // A Service with the same label is another kind: never listed as a Revision.
    store.apply({ ...service('a'), metadata: { name: 'a', namespace: 'default', labels: { 'serving.knative.dev/service': 'a' } } });
    const names = (labels?: Record<string, string>, allNamespaces = false): string[] =>
      store.list(REVISION, allNamespaces ? undefined : 'default', labels).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(names({ 'serving.knative.dev/service': 'a' })).toEqual(['default/a-00001', 'default/a-00002']);
    expect(names({ 'serving.knative.dev/service': 'a', tier: 'web' })).toEqual(['default/a-00001', 'default/a-00002']);
    expect(names({ 'serving.knative.dev/service': 'a', tier: 'db' })).toEqual([]);
    expect(names({ 'serving.knative.dev/service': 'a' }, true)).toEqual(['default/a-00001', 'default/a-00002', 'other/a-00001']);
    expect(names({ tier: 'web' })).toEqual(['default/a-00001', 'default/a-00002', 'default/b-00001']);
    expect(names()).toEqual(['default/a-00001', 'default/a-00002', 'default/b-00001']);
    // Relabelled: found under the new value only.
    store.apply({ ...rev('a-00002', 'a'), metadata: { ...rev('a-00002', 'a').metadata, labels: { 'serving.knative.dev/service': 'b' } } });
    expect(names({ 'serving.knative.dev/service': 'a' })).toEqual(['default/a-00001']);
    expect(names({ 'serving.knative.dev/service': 'b' })).toEqual(['default/a-00002', 'default/b-00001']);
    store.delete(REVISION, 'default', 'b-00001');
    expect(names({ 'serving.knative.dev/service': 'b' })).toEqual(['default/a-00002']);
    // What a list returns is a copy.
    const [copy] = store.list(REVISION, 'default', { 'serving.knative.dev/service': 'a' });
    copy!.metadata.labels!['serving.knative.dev/service'] = 'changed';
    expect(names({ 'serving.knative.dev/service': 'a' })).toEqual(['default/a-00001']);
  });

  it('keeps one write in flight and one waiting: flushes during a write share the next, which has every change', async () => {
    const store = await open({ dir, flushDelayMs: 1 });
    store.apply(service('a'));
    const first = store.flush();
    store.apply(service('b'));
    const second = store.flush();
    store.apply(service('c'));
    const third = store.flush();
    expect(third).toBe(second);
    await Promise.all([first, second, third]);
    const text = await readFile(join(dir, 'store.json'), 'utf8');
    expect((JSON.parse(text) as { objects: KObject[] }).objects.map((o) => o.metadata.name).sort()).toEqual(['a', 'b', 'c']);
    // Nothing changed since: flush resolves without another write.
    const before = (await stat(join(dir, 'store.json'))).mtimeMs;
    await store.flush();
    expect((await stat(join(dir, 'store.json'))).mtimeMs).toBe(before);
  });

  it('refuses to open a corrupt state file, naming it', async () => {
    const file = join(dir, 'store.json');
    await writeFile(file, '{"version":1,"objects":[');
    const err = await Store.open({ dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreCorruptError);
    expect((err as StoreCorruptError).message).toContain(`state file ${file} is corrupt:`);
    expect((err as StoreCorruptError).code).toBe('WISP_ERR_STORE_CORRUPT');
    await writeFile(file, '{"version":1,"resourceVersion":3,"objects":[{"kind":"Service"}]}');
    await expect(Store.open({ dir })).rejects.toThrow(/objects\[0\] has no metadata/);
  });
});
