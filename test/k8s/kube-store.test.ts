/**
 * KubeStore against a real kube-apiserver: the cache follows the API (its own writes at once, others' through the
 * watch), status goes through the /status subresource, a stale resourceVersion (409 Conflict) is re-read and retried,
 * apply writes only what changed, AlreadyExists and NotFound map onto the control errors, delete lets the garbage
 * collector take the dependents, and revision numbers follow the Revisions in the cluster.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kindByName } from '../../src/api/kinds.js';
import type { KObject } from '../../src/api/types.js';
import { KubeClient, loadKubeConfig } from '../../src/control/kube/client.js';
import { KubeStore } from '../../src/control/kube/store.js';
import { AlreadyExistsError, NotFoundError } from '../../src/control/errors.js';
import type { WatchEvent } from '../../src/control/resource-store.js';
import { kubernetesKinds } from '../../src/platform/seams.js';
import { k8sKubeconfig, kubectl } from '../support/k8s/index.js';
import { waitFor } from '../support/wait.js';
import { CRDS_DIR, jsonpath, ksvcYaml } from './helpers.js';

const ns = `wisp-store-${randomUUID().slice(0, 8)}`;
const SERVICES = kindByName('ksvc')!;
const REVISIONS = kindByName('revisions')!;
let store: KubeStore | undefined;
const events: WatchEvent[] = [];

function revision(name: string, service: string, generation: number, owner?: KObject): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: {
      name,
      namespace: ns,
      labels: { 'serving.knative.dev/service': service, 'serving.knative.dev/configurationGeneration': String(generation) },
      ...(owner && { ownerReferences: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: owner.metadata.name, uid: owner.metadata.uid!, controller: true }] }),
    },
    spec: { containers: [{ image: 'example.com/hello' }] },
  };
}

describe('KubeStore on a real API server', () => {
  beforeAll(async () => {
    expect((await kubectl(['apply', '-f', CRDS_DIR])).code).toBe(0);
    expect((await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s'])).code).toBe(0);
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    store = await KubeStore.open({ client: new KubeClient(loadKubeConfig({ kubeconfig: k8sKubeconfig() })), kinds: kubernetesKinds(), namespace: ns });
    store.watch((ev) => events.push(ev));
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it("keeps idle watches across client-node's 30 s inactivity timeout: no error, no re-list, changes still arrive", async () => {
    const problems: string[] = [];
    const idle = await KubeStore.open({
      client: new KubeClient(loadKubeConfig({ kubeconfig: k8sKubeconfig() })),
      kinds: kubernetesKinds(ns),
      namespace: ns,
      onError: (err, where) => problems.push(`${where}: ${err instanceof Error ? err.message : String(err)}`),
    });
    try {
      await new Promise((r) => setTimeout(r, 33_000));
      expect(problems).toEqual([]);
      expect((await kubectl(['apply', '-f', '-'], { input: ksvcYaml({ name: 'after-idle', namespace: ns }) })).code).toBe(0);
      await waitFor(() => idle.get(SERVICES, ns, 'after-idle'), { timeoutMs: 10_000, what: 'ksvc after-idle seen through the resumed watch' });
      expect(problems).toEqual([]);
    } finally {
      await idle.close();
    }
  }, 60_000);

  it('sees an object created with kubectl through its watch, and its own writes at once', async () => {
    expect((await kubectl(['apply', '-f', '-'], { input: ksvcYaml({ name: 'a', namespace: ns }) })).code).toBe(0);
    const seen = await waitFor(() => store!.get(SERVICES, ns, 'a'), { timeoutMs: 10_000, what: 'ksvc a in the cache' });
    expect(seen.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'a')).toBe(true);

    const created = await store!.create(revision('a-00001', 'a', 1, seen));
    // The server's answer is in the cache before the watch delivers it.
    expect(store!.get(REVISIONS, ns, 'a-00001')?.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    await expect(store!.create(revision('a-00001', 'a', 1, seen))).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it('writes status through the /status subresource, retrying a stale resourceVersion (409 Conflict)', async () => {
    // A second store whose watches are stopped: its cache keeps the resourceVersion it listed, which someone else
    // then makes stale, so its status write must meet a 409 Conflict, re-read and retry.
    const stale = await KubeStore.open({ client: new KubeClient(loadKubeConfig({ kubeconfig: k8sKubeconfig() })), kinds: kubernetesKinds(), namespace: ns });
    await stale.close();
    const before = stale.get(SERVICES, ns, 'a')!;
    expect((await kubectl(['label', 'ksvc', 'a', '-n', ns, 'team=blue'])).code).toBe(0);
    expect(await jsonpath(kubectl, ns, 'ksvc/a', '{.metadata.resourceVersion}')).not.toBe(before.metadata.resourceVersion);
    const updated = await stale.updateStatus(SERVICES, ns, 'a', { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] });
    expect(updated.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion);
    await waitFor(() => store!.get(SERVICES, ns, 'a')?.metadata.resourceVersion === updated.metadata.resourceVersion, { timeoutMs: 10_000, what: 'watch caught up' });
    expect(await jsonpath(kubectl, ns, 'ksvc/a', '{.status.conditions[0].type}={.status.conditions[0].status}')).toBe('Ready=True');
    // The status write did not undo the label (status goes through its subresource, the rest is untouched).
    expect(await jsonpath(kubectl, ns, 'ksvc/a', '{.metadata.labels.team}')).toBe('blue');
    // Equal status: nothing is written.
    const again = await store!.updateStatus(SERVICES, ns, 'a', { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] });
    expect(again.metadata.resourceVersion).toBe(updated.metadata.resourceVersion);
    await expect(store!.updateStatus(SERVICES, ns, 'gone', {})).rejects.toBeInstanceOf(NotFoundError);
  });

  it('apply creates, replaces when the user content changed, and writes nothing when it did not', async () => {
    const rev = revision('b-00001', 'b', 1);
    expect((await store!.apply(rev)).result).toBe('created');
    expect((await store!.apply(rev)).result).toBe('unchanged');
    const changed = { ...rev, metadata: { ...rev.metadata, annotations: { note: 'x' } } };
    const r = await store!.apply(changed);
    expect(r.result).toBe('configured');
    expect(await jsonpath(kubectl, ns, 'rev/b-00001', '{.metadata.annotations.note}')).toBe('x');
  });

  it('hands out revision numbers after the highest configurationGeneration in the cluster', async () => {
    expect(await store!.nextRevisionNumber(ns, 'b')).toBe(2);
    expect(await store!.nextRevisionNumber(ns, 'b')).toBe(3); // never the same number twice
    expect(await store!.nextRevisionNumber(ns, 'fresh')).toBe(1);
  });

  it('delete leaves the dependents to the garbage collector (propagationPolicy Background)', async () => {
    const gone = await store!.delete(SERVICES, ns, 'a');
    expect(gone?.metadata.name).toBe('a');
    expect(store!.get(SERVICES, ns, 'a')).toBeUndefined();
    expect(await store!.delete(SERVICES, ns, 'a')).toBeUndefined();
    await waitFor(async () => (await kubectl(['get', 'rev', 'a-00001', '-n', ns, '--ignore-not-found', '-o', 'name'])).stdout.trim() === '', {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'a-00001 garbage-collected',
    });
    await waitFor(() => store!.get(REVISIONS, ns, 'a-00001') === undefined, { timeoutMs: 10_000, what: 'a-00001 gone from the cache' });
  }, 90_000);
});
