/** The pure parts of ApiServerSource on Kubernetes: selectors as `labelSelector`, owner filter, events, namespaces, re-list diffs, refusals. */
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KObject } from '../../../src/api/types.js';
import {
  apiServerEvent,
  impersonating,
  labelSelectorString,
  namespacePlan,
  ownerMatches,
  relistChanges,
  serviceAccountUser,
  watchProblem,
} from '../../../src/importers/apiserver/index.js';
import { collectionPath, discoveryPath, findResource } from '../../../src/importers/apiserver/kube-spec.js';

const NOW = Date.UTC(2026, 0, 1, 12);

const obj = (name: string, rv: string, extra: Partial<KObject['metadata']> = {}): KObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: rv, ...extra },
});

describe('labelSelectorString', () => {
  it('matchLabels and every operator, sorted by key as Kubernetes prints a selector; empty is everything', () => {
    expect(labelSelectorString(undefined)).toBe('');
    expect(labelSelectorString({})).toBe('');
    expect(labelSelectorString({ matchLabels: { tier: 'web', app: 'shop' } })).toBe('app=shop,tier=web');
    expect(
      labelSelectorString({
        matchLabels: { app: 'shop' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'dev'] },
          { key: 'zone', operator: 'NotIn', values: ['b'] },
          { key: 'canary', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=shop,canary,env in (dev,prod),!legacy,zone notin (b)');
  });
});

describe('ownerMatches (Knative controllerFilter)', () => {
  const owned = obj('web', '1', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', controller: true }] });
  it('passes everything without an owner', () => {
    expect(ownerMatches(obj('a', '1'), undefined)).toBe(true);
    expect(ownerMatches(obj('a', '1'), {})).toBe(true);
  });
  it("compares the controller's apiVersion and kind, each when given; no controller → filtered out", () => {
    expect(ownerMatches(owned, { apiVersion: 'apps/v1', kind: 'ReplicaSet' })).toBe(true);
    expect(ownerMatches(owned, { kind: 'ReplicaSet' })).toBe(true);
    expect(ownerMatches(owned, { apiVersion: 'apps/v1', kind: 'Deployment' })).toBe(false);
    expect(ownerMatches(owned, { apiVersion: 'batch/v1' })).toBe(false);
    expect(ownerMatches(obj('a', '1'), { kind: 'ReplicaSet' })).toBe(false);
    const notController = obj('b', '1', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x' }] });
    expect(ownerMatches(notController, { kind: 'ReplicaSet' })).toBe(false);
  });
});

describe('apiServerEvent', () => {
  const event: KObject = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'pod.1', namespace: 'shop' }, reason: 'Started' } as KObject;
  it("Resource mode: Knative's type, the API server as source, a selfLink-like subject with the discovered plural, the object as data", () => {
    const e = apiServerEvent({ mode: 'Resource', type: 'ADDED', object: event, sourceUri: 'https://127.0.0.1:6443', plural: 'events', id: 'i', now: NOW });
    expect(e.type).toBe('dev.knative.apiserver.resource.add');
    expect(e.source).toBe('https://127.0.0.1:6443');
    expect(e.subject).toBe('/apis/v1/namespaces/shop/events/pod.1');
    expect(e['kind']).toBe('Event');
    expect(e['name']).toBe('pod.1');
    expect(e['namespace']).toBe('shop');
    expect(e.datacontenttype).toBe('application/json');
    expect(e.data).toEqual(event);
  });
  it('Reference mode: an ObjectReference as data; MODIFIED/DELETED are update/delete; ceOverrides extensions added', () => {
    const d = obj('web', '7');
    const up = apiServerEvent({ mode: 'Reference', type: 'MODIFIED', object: d, sourceUri: 's', extensions: { team: 'a' }, plural: 'deployments', id: 'i', now: NOW });
    expect(up.type).toBe('dev.knative.apiserver.ref.update');
    expect(up.subject).toBe('/apis/apps/v1/namespaces/shop/deployments/web');
    expect(up.data).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' });
    expect(up['team']).toBe('a');
    expect(apiServerEvent({ mode: 'Reference', type: 'DELETED', object: d, sourceUri: 's', id: 'i', now: NOW }).type).toBe('dev.knative.apiserver.ref.delete');
  });
});

describe('namespacePlan and paths', () => {
  it("no namespaceSelector: the source's own; empty: all; with terms: the matching ones", () => {
    expect(namespacePlan({ namespace: 'shop' })).toEqual({ kind: 'own', namespace: 'shop' });
    expect(namespacePlan({ namespace: 'shop', namespaceSelector: {} })).toEqual({ kind: 'all' });
    expect(namespacePlan({ namespace: 'shop', namespaceSelector: { matchLabels: { env: 'test' } } })).toEqual({ kind: 'selected', labelSelector: 'env=test' });
  });
  it('discovery documents, resources without subresources, collection paths (cluster-scoped kinds ignore the namespace)', () => {
    expect(discoveryPath('v1')).toBe('/api/v1');
    expect(discoveryPath('apps/v1')).toBe('/apis/apps/v1');
    const resources = [
      { name: 'deployments/status', kind: 'Deployment', namespaced: true },
      { name: 'deployments', kind: 'Deployment', namespaced: true },
      { name: 'namespaces', kind: 'Namespace', namespaced: false },
    ];
    const d = findResource('apps/v1', 'Deployment', resources);
    expect(d).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true });
    expect(findResource('apps/v1', 'Nope', resources)).toBeUndefined();
    expect(collectionPath(d!, 'shop')).toBe('/apis/apps/v1/namespaces/shop/deployments');
    expect(collectionPath(d!, undefined)).toBe('/apis/apps/v1/deployments');
    expect(collectionPath({ apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false }, 'shop')).toBe('/api/v1/namespaces');
  });
});

describe('relistChanges', () => {
  it('after an outage: gone → DELETED as last known, new → ADDED, another resourceVersion → MODIFIED, same name new uid → DELETED + ADDED', () => {
    const known = new Map<string, KObject>([
      ['shop/a', obj('a', '1')],
      ['shop/b', obj('b', '1')],
      ['shop/c', obj('c', '1')],
      ['shop/d', obj('d', '1')],
    ]);
    const listed = [obj('a', '1'), obj('b', '5'), obj('d', '9', { uid: 'uid-d2' }), obj('e', '3')];
    expect(relistChanges(known, listed).map((c) => `${c.type} ${c.object.metadata.name} ${c.object.metadata.resourceVersion}`)).toEqual([
      'MODIFIED b 5',
      'DELETED c 1',
      'DELETED d 1',
      'ADDED d 9',
      'ADDED e 3',
    ]);
    expect(relistChanges(known, [...known.values()])).toEqual([]);
  });
});

describe('refusals and impersonation', () => {
  it('403 → Forbidden, 404 → ResourceNotFound, no answer → ApiServerUnreachable, else the API reason; the message kept', () => {
    expect(watchProblem(403, 'Forbidden', 'events is forbidden: User "x" cannot list')).toEqual({ reason: 'Forbidden', message: 'events is forbidden: User "x" cannot list' });
    expect(watchProblem(404, 'NotFound', 'm').reason).toBe('ResourceNotFound');
    expect(watchProblem(401, 'Unauthorized', 'm').reason).toBe('Unauthorized');
    expect(watchProblem(0, 'Unreachable', 'm').reason).toBe('ApiServerUnreachable');
    expect(watchProblem(400, 'BadRequest', 'm').reason).toBe('BadRequest');
    expect(watchProblem(500, 'Unknown', 'm').reason).toBe('WatchFailed');
  });

  it("the ServiceAccount's user, and a kubeconfig copy whose current user impersonates it (others and the original untouched)", () => {
    expect(serviceAccountUser('shop', 'events-sa')).toBe('system:serviceaccount:shop:events-sa');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
      users: [
        { name: 'admin', token: 't' },
        { name: 'other', token: 'o' },
      ],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'admin' }],
      currentContext: 'ctx',
    });
    const as = impersonating(kc, 'system:serviceaccount:shop:events-sa');
    expect(as.getCurrentUser()).toMatchObject({ name: 'admin', token: 't', impersonateUser: 'system:serviceaccount:shop:events-sa' });
    expect(as.getUsers().find((u) => u.name === 'other')?.impersonateUser).toBeUndefined();
    expect(as.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    expect(kc.getCurrentUser()?.impersonateUser).toBeUndefined();
  });
});
