import { describe, expect, it } from 'vitest';
import { readyFrom, setConditions } from '../../../src/control/conditions.js';
import { joinUri, resolveDestination } from '../../../src/control/eventing/destination.js';
import { addressUrlFor, hostsFor, revisionName, revisionNumber, urlFor } from '../../../src/control/serving/names.js';
import { DEFAULT_PROGRESS_DEADLINE_SECONDS, progressDeadlineSeconds } from '../../../src/control/serving/progress-deadline.js';
import { revisionStatus } from '../../../src/control/serving/revision-status.js';
import { resolveTraffic, splitByRevision } from '../../../src/control/serving/traffic.js';
import { WorkQueue } from '../../../src/control/work-queue.js';

const T0 = Date.UTC(2026, 0, 1);

describe('revision names and hosts', () => {
  it('numbers revisions with five digits and reads them back', () => {
    expect(revisionName('hello', 1)).toBe('hello-00001');
    expect(revisionName('hello', 123456)).toBe('hello-123456');
    expect(revisionNumber('hello', 'hello-00042')).toBe(42);
    expect(revisionNumber('hello', 'hello-blue')).toBeUndefined();
    expect(revisionNumber('hello', 'other-00001')).toBeUndefined();
  });

  it('builds Knative-style hosts and URLs, tags first', () => {
    expect(hostsFor('hello', 'default')).toEqual(['hello.default.localhost', 'hello.default']);
    expect(hostsFor('hello', 'default', 'canary')).toEqual(['canary-hello.default.localhost', 'canary-hello.default']);
    expect(urlFor('hello', 'default', 8080)).toBe('http://hello.default.localhost:8080');
    expect(urlFor('hello', 'default', 80, 'canary')).toBe('http://canary-hello.default.localhost');
  });
});

describe('a Service\'s address for workloads', () => {
  it('is the ingress by IP with the Service in the path, loopback for wildcard listen addresses', () => {
    expect(addressUrlFor('sink', 'default', '127.0.0.1', 8080)).toBe('http://127.0.0.1:8080/default/sink');
    expect(addressUrlFor('sink', 'ns1', '0.0.0.0', 80)).toBe('http://127.0.0.1/ns1/sink');
    expect(addressUrlFor('sink', 'ns1', '::', 9000)).toBe('http://[::1]:9000/ns1/sink');
    expect(addressUrlFor('sink', 'ns1', '::1', 9000)).toBe('http://[::1]:9000/ns1/sink');
  });

  it('joins a ref\'s relative or absolute uri under the Service prefix, as it would under a host of its own', () => {
    const base = 'http://127.0.0.1:8080/default/sink';
    expect(joinUri(base, '/events')).toBe('http://127.0.0.1:8080/default/sink/events');
    expect(joinUri(base, 'events?x=1')).toBe('http://127.0.0.1:8080/default/sink/events?x=1');
    expect(joinUri(base, 'http://elsewhere/x')).toBe('http://elsewhere/x');
    expect(joinUri('http://hello.default.localhost:8080', '/events')).toBe('http://hello.default.localhost:8080/events');
    const svc = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'sink', namespace: 'default' }, status: { url: 'http://sink.default.localhost:8080', address: { url: base } } };
    const lookup = { service: () => svc, broker: () => undefined };
    expect(resolveDestination({ ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'sink' } }, 'default', lookup)).toEqual({ ok: true, uri: base });
    expect(resolveDestination({ ref: { kind: 'Service', name: 'sink' }, uri: '/e' }, 'default', lookup)).toEqual({ ok: true, uri: `${base}/e` });
  });

  it('resolves a v1 Service ref in Kubernetes mode only, to what the cluster directory says, with a relative uri joined', () => {
    const embedded = { service: () => undefined, broker: () => undefined };
    const v1 = { ref: { apiVersion: 'v1', kind: 'Service', name: 'display' } };
    expect(resolveDestination(v1, 'team', embedded)).toEqual({ ok: false, message: expect.stringContaining('in Kubernetes mode only') as string });
    const cluster = { ...embedded, coreService: (ns: string, name: string) => (name === 'display' ? { url: `http://${name}.${ns}.svc.cluster.local:8080` } : undefined) };
    expect(resolveDestination({ ...v1, uri: '/events' }, 'team', cluster)).toEqual({ ok: true, uri: 'http://display.team.svc.cluster.local:8080/events' });
    expect(resolveDestination({ ref: { apiVersion: 'v1', kind: 'Service', name: 'gone' } }, 'team', cluster)).toEqual({
      ok: false,
      message: 'failed to get object team/gone: services "gone" not found',
    });
    // No apiVersion still means Knative's Service, never the core one.
    expect(resolveDestination({ ref: { kind: 'Service', name: 'display' } }, 'team', cluster).ok).toBe(false);
  });

  it('resolves only http and https URIs, even for an object stored before admission checked the scheme', () => {
    const lookup = { service: () => undefined, broker: () => undefined };
    expect(resolveDestination({ uri: 'file:///etc/passwd' }, 'default', lookup)).toEqual({ ok: false, message: 'URI "file:///etc/passwd" is not http or https' });
    expect(resolveDestination({ uri: 'https://example.test/x' }, 'default', lookup)).toEqual({ ok: true, uri: 'https://example.test/x' });
  });
});

describe('progress deadline', () => {
  it('reads serving.knative.dev/progress-deadline as a Go duration, else the local default', () => {
    expect(DEFAULT_PROGRESS_DEADLINE_SECONDS).toBe(30);
    expect(progressDeadlineSeconds(undefined)).toBe(30);
    expect(progressDeadlineSeconds({ 'serving.knative.dev/progress-deadline': '5s' })).toBe(5);
    expect(progressDeadlineSeconds({ 'serving.knative.dev/progress-deadline': '2m' })).toBe(120);
    expect(progressDeadlineSeconds({ 'serving.knative.dev/progress-deadline': '1500ms' })).toBe(1.5);
    expect(progressDeadlineSeconds({ 'serving.knative.dev/progress-deadline': 'soon' })).toBe(30);
    expect(progressDeadlineSeconds({ 'serving.knative.dev/progress-deadline': '0s' })).toBe(30);
  });
});

describe('resolveTraffic', () => {
  const revs = new Set(['hello-00001', 'hello-00002']);

  it('sends latestRevision to the latest ready revision', () => {
    const r = resolveTraffic([{ latestRevision: true, percent: 100 }], revs, 'hello-00002', 'hello-00001');
    expect(r).toEqual({ ok: true, targets: [{ revisionName: 'hello-00001', percent: 100, latestRevision: true }] });
  });

  it('falls back to the latest created revision before any is ready', () => {
    const r = resolveTraffic([{ latestRevision: true, percent: 100 }], revs, 'hello-00002', undefined);
    expect(r.ok && r.targets[0]?.revisionName).toBe('hello-00002');
  });

  it('keeps pinned revisions and tags, and sums percents per revision', () => {
    const r = resolveTraffic(
      [
        { revisionName: 'hello-00001', percent: 50 },
        { latestRevision: true, percent: 50 },
        { latestRevision: true, percent: 0, tag: 'canary' },
      ],
      revs,
      'hello-00002',
      'hello-00002',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.targets[2]).toEqual({ revisionName: 'hello-00002', percent: 0, tag: 'canary', latestRevision: true });
    expect([...splitByRevision(r.targets)]).toEqual([
      ['hello-00001', 50],
      ['hello-00002', 50],
    ]);
  });

  it('reports RevisionMissing naming the entry', () => {
    const r = resolveTraffic([{ revisionName: 'hello-00009', percent: 100 }], revs, 'hello-00002', 'hello-00002');
    expect(r).toEqual({ ok: false, reason: 'RevisionMissing', message: 'Revision "hello-00009" referenced in traffic (spec.traffic[0]) not found.' });
  });
});

describe('conditions', () => {
  it('keeps lastTransitionTime while the status holds and puts Ready first', () => {
    const first = setConditions(undefined, [{ type: 'RoutesReady', status: 'True' }, { type: 'Ready', status: 'True' }], T0);
    expect(first.map((c) => c.type)).toEqual(['Ready', 'RoutesReady']);
    const second = setConditions(first, [{ type: 'Ready', status: 'True' }, { type: 'RoutesReady', status: 'False', reason: 'RevisionMissing' }], T0 + 5000);
    expect(second[0]?.lastTransitionTime).toBe(new Date(T0).toISOString());
    expect(second[1]?.lastTransitionTime).toBe(new Date(T0 + 5000).toISOString());
  });

  it('derives Ready from the first False, then the first Unknown', () => {
    expect(readyFrom([{ type: 'A', status: 'Unknown', reason: 'Wait' }, { type: 'B', status: 'False', reason: 'Broken', message: 'm' }])).toEqual({ type: 'Ready', status: 'False', reason: 'Broken', message: 'm' });
    expect(readyFrom([{ type: 'A', status: 'True' }, { type: 'B', status: 'Unknown', reason: 'Wait' }])).toEqual({ type: 'Ready', status: 'Unknown', reason: 'Wait' });
    expect(readyFrom([{ type: 'A', status: 'True' }])).toEqual({ type: 'Ready', status: 'True' });
  });
});

describe('revisionStatus', () => {
  const replica = { id: 'r1', host: '127.0.0.1', port: 1234 };
  const cond = (s: ReturnType<typeof revisionStatus>, type: string) => s.conditions?.find((c) => c.type === type);

  it('is Deploying until a replica is ready, then Ready and Active', () => {
    const deploying = revisionStatus(undefined, { desired: 1, ready: [], starting: 1, restarts: 0 }, 1, T0);
    expect(cond(deploying, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Deploying' });
    const ready = revisionStatus(deploying, { desired: 1, ready: [replica], starting: 0, restarts: 0 }, 1, T0);
    expect(cond(ready, 'Ready')?.status).toBe('True');
    expect(cond(ready, 'Active')?.status).toBe('True');
    expect(ready).toMatchObject({ actualReplicas: 1, desiredReplicas: 1 });
  });

  it('stays Ready at zero replicas with Active=False NoTraffic', () => {
    const ready = revisionStatus(undefined, { desired: 1, ready: [replica], starting: 0, restarts: 0 }, 1, T0);
    const zero = revisionStatus(ready, { desired: 0, ready: [], starting: 0, restarts: 0 }, 1, T0);
    expect(cond(zero, 'Ready')?.status).toBe('True');
    expect(cond(zero, 'Active')).toMatchObject({ status: 'False', reason: 'NoTraffic' });
    expect(zero).toMatchObject({ actualReplicas: 0, desiredReplicas: 0 });
  });

  it('reports a start-up failure with the runtime reason', () => {
    const failed = revisionStatus(undefined, { desired: 1, ready: [], starting: 1, restarts: 2, failure: { reason: 'ExitCode3', message: 'boom' } }, 1, T0);
    expect(cond(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'ExitCode3', message: 'Container failed with: boom' });
    const image = revisionStatus(undefined, { desired: 0, ready: [], starting: 0, restarts: 0, failure: { reason: 'ImageNotRunnableLocally', message: 'add command' } }, 1, T0);
    expect(cond(image, 'Ready')).toMatchObject({ status: 'False', reason: 'ImageNotRunnableLocally', message: 'add command' });
  });

  it('is Ready at zero replicas when the initial scale is 0 (Knative: scale target initialized), Active=False NoTraffic', () => {
    const atZero = { desired: 0, ready: [], starting: 0, restarts: 0 };
    expect(cond(revisionStatus(undefined, atZero, 1, T0), 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Deploying' });
    const s = revisionStatus(undefined, atZero, 1, T0, { initialScale: 0 });
    expect(cond(s, 'Ready')?.status).toBe('True');
    expect(cond(s, 'ResourcesAvailable')?.status).toBe('True');
    expect(cond(s, 'ContainerHealthy')?.status).toBe('True');
    expect(cond(s, 'Active')).toMatchObject({ status: 'False', reason: 'NoTraffic' });
    expect(cond(revisionStatus(undefined, atZero, 1, T0, { initialScale: 1 }), 'Ready')?.status).toBe('Unknown');
  });

  it('fails with ProgressDeadlineExceeded on ResourcesAvailable when no replica ever became ready', () => {
    const failure = { reason: 'ProgressDeadlineExceeded', message: 'not ready within the progress deadline (30s): listening on 3077; listen on $PORT (40777)' };
    const s = revisionStatus(undefined, { desired: 1, ready: [], starting: 1, restarts: 0, failure }, 1, T0);
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded', message: failure.message });
    expect(cond(s, 'ResourcesAvailable')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(cond(s, 'ContainerHealthy')?.status).toBe('Unknown');
    // Ready later (a slow start): the failure is gone from the runtime status, the revision is Ready.
    const later = revisionStatus(s, { desired: 1, ready: [replica], starting: 0, restarts: 0 }, 1, T0);
    expect(cond(later, 'Ready')?.status).toBe('True');
  });
});

describe('WorkQueue', () => {
  it('deduplicates keys, re-runs a key added while it runs, and reports errors', async () => {
    const seen: string[] = [];
    const errors: string[] = [];
    const q: WorkQueue = new WorkQueue({
      handler: (key) => {
        seen.push(key);
        if (key === 'a' && seen.filter((k) => k === 'a').length === 1) q.add('a');
        if (key === 'bad') throw new Error('nope');
      },
      onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`),
    });
    q.add('a');
    q.add('b');
    q.add('b');
    q.add('bad');
    await q.idle();
    expect(seen).toEqual(['a', 'b', 'bad', 'a']);
    expect(errors).toEqual(['bad: nope']);
  });
});
