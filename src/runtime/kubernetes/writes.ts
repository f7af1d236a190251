/**
 * The runtime's writes, one attempt each (the runtime retries them): create-or-update of a revision's Deployment and
 * Service, the scale subresource, and deleting both. What to write comes from the pure builders in objects.ts.
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { call, callOptions, httpStatusOf, mergePatch, type KubeClients } from './api.js';
import { KubernetesApiError } from './errors.js';
import { buildDeployment, deploymentName, deploymentUpdate, serviceUpdate } from './objects.js';
import type { RevisionWorkload } from '../types.js';

/** What an ensure did. */
export type EnsureOutcome = 'created' | 'updated' | 'unchanged';

/** Reads `what`; undefined when it does not exist. */
async function readOrUndefined<T>(what: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call(`read ${what}`, read);
  } catch (err) {
    if (httpStatusOf(err) === 404) return undefined;
    throw err;
  }
}

/** Creates the Deployment (0 replicas), or puts what differs in its template, keeping its replica count. */
export async function ensureDeployment(c: KubeClients, workload: RevisionWorkload): Promise<EnsureOutcome> {
  const want = buildDeployment(workload);
  const name = deploymentName(workload.revision);
  const namespace = workload.namespace;
  const what = `Deployment ${namespace}/${name}`;
  const o = callOptions();
  const existing: V1Deployment | undefined = await readOrUndefined(what, () => c.apps.readNamespacedDeployment({ name, namespace }, o));
  if (!existing) {
    await call(`create ${what}`, () => c.apps.createNamespacedDeployment({ namespace, body: want }, o));
    return 'created';
  }
  if (existing.metadata?.deletionTimestamp) throw new KubernetesApiError(`update ${what}`, 409, 'it is being deleted; trying again');
  const update = deploymentUpdate(existing, want);
  if (!update) return 'unchanged';
  await call(`update ${what}`, () => c.apps.replaceNamespacedDeployment({ name, namespace, body: update }, o));
  return 'updated';
}

/** Creates the Service, or puts what differs (its clusterIP kept). */
export async function ensureService(c: KubeClients, want: V1Service): Promise<EnsureOutcome> {
  const name = want.metadata?.name ?? '';
  const namespace = want.metadata?.namespace ?? '';
  const what = `Service ${namespace}/${name}`;
  const o = callOptions();
  const existing: V1Service | undefined = await readOrUndefined(what, () => c.core.readNamespacedService({ name, namespace }, o));
  if (!existing) {
    await call(`create ${what}`, () => c.core.createNamespacedService({ namespace, body: want }, o));
    return 'created';
  }
  const update = serviceUpdate(existing, want);
  if (!update) return 'unchanged';
  await call(`update ${what}`, () => c.core.replaceNamespacedService({ name, namespace, body: update }, o));
  return 'updated';
}

/** `spec.replicas` through `/apis/apps/v1/namespaces/<ns>/deployments/<name>/scale` (a merge patch). */
export async function writeScale(c: KubeClients, namespace: string, revision: string, replicas: number): Promise<void> {
  const name = deploymentName(revision);
  await call(`scale Deployment ${namespace}/${name} to ${replicas}`, () =>
    c.apps.patchNamespacedDeploymentScale({ name, namespace, body: { spec: { replicas } } }, mergePatch()),
  );
}

/** The deletions of a revision's objects (propagationPolicy Background), each a call that treats 404 as done. */
export function revisionDeletions(c: KubeClients, namespace: string, revision: string): { what: string; run: () => Promise<void> }[] {
  const o = callOptions();
  const gone = async (what: string, del: () => Promise<unknown>): Promise<void> => {
    try {
      await call(what, del);
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw err;
    }
  };
  const dep = `delete Deployment ${namespace}/${deploymentName(revision)}`;
  const svc = `delete Service ${namespace}/${revision}`;
  return [
    { what: dep, run: () => gone(dep, () => c.apps.deleteNamespacedDeployment({ name: deploymentName(revision), namespace, propagationPolicy: 'Background' }, o)) },
    { what: svc, run: () => gone(svc, () => c.core.deleteNamespacedService({ name: revision, namespace, propagationPolicy: 'Background' }, o)) },
  ];
}
