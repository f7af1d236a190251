/**
 * What a Revision becomes on Kubernetes, as Knative's `reconciler/revision/resources/` builds it: a Deployment
 * `<revision>-deployment` (0 replicas at creation; the autoscaler scales it) and a Service `<revision>` in front of its
 * Pods, both labelled with the revision's names and owned by the Revision object. Pure: functions of the workload.
 * Only `import type` from @kubernetes/client-node (the shapes), nothing that talks to a cluster.
 */
import type { V1Container, V1Deployment, V1EnvVar, V1OwnerReference, V1PodTemplateSpec, V1Probe, V1ResourceRequirements, V1Service } from '@kubernetes/client-node';
import { CONFIGURATION_LABEL, SERVICE_LABEL } from '../../api/labels.js';
import { quantityValue } from '../../api/quantity.js';
import type { Container, Probe, ResourceRequirements } from '../../api/types.js';
import type { RevisionWorkload } from '../types.js';

export const REVISION_LABEL = 'serving.knative.dev/revision';
export const REVISION_UID_LABEL = 'serving.knative.dev/revisionUID';
/** Set by Kubernetes' EndpointSlice controller on the slices of a Service (next to the Service's own labels). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Knative's default `$PORT` when the container declares no port. */
export const DEFAULT_PORT = 8080;
/** Knative's name for an unnamed serving container. */
export const USER_CONTAINER_NAME = 'user-container';
/** Knative's name for the serving container's port when the container declares none. */
export const USER_PORT_NAME = 'user-port';
/** The Service's port (Knative's private Service answers on 80 too). */
export const SERVICE_PORT = 80;
export const SERVICE_PORT_NAME = 'http';

/** `hello-00001` → `hello-00001-deployment` (Knative's name). */
export function deploymentName(revision: string): string {
  return `${revision}-deployment`;
}

/** `<namespace>/<revision>`, the key every component uses for a revision. */
export function revisionKey(namespace: string, revision: string): string {
  return `${namespace}/${revision}`;
}

/** The inverse of revisionKey(); undefined for a malformed key. */
export function parseRevisionKey(key: string): { namespace: string; revision: string } | undefined {
  const slash = key.indexOf('/');
  if (slash <= 0 || slash === key.length - 1) return undefined;
  return { namespace: key.slice(0, slash), revision: key.slice(slash + 1) };
}

/** The serving container's port: its first declared `containerPort`, else 8080. */
export function servingPort(workload: RevisionWorkload): number {
  return workload.container.ports?.[0]?.containerPort ?? DEFAULT_PORT;
}

/** The Revision's labels plus Knative's (which win): on the Deployment, its Pods and the Service. */
export function workloadLabels(workload: RevisionWorkload): Record<string, string> {
  const labels: Record<string, string> = {
    ...(workload.labels ?? {}),
    [REVISION_LABEL]: workload.revision,
    [SERVICE_LABEL]: workload.service,
    [CONFIGURATION_LABEL]: workload.configuration,
  };
  if (workload.revisionUid !== undefined && workload.revisionUid !== '') labels[REVISION_UID_LABEL] = workload.revisionUid;
  return labels;
}

/** Owned by the Revision (so Kubernetes' garbage collector deletes them with it); none when the uid is unknown. */
export function ownerReferences(workload: RevisionWorkload): V1OwnerReference[] | undefined {
  if (workload.revisionUid === undefined || workload.revisionUid === '') return undefined;
  return [
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      name: workload.revision,
      uid: workload.revisionUid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
}

function containersOf(workload: RevisionWorkload): readonly Container[] {
  const all = workload.containers;
  return all !== undefined && all.length > 0 ? all : [workload.container];
}

/** Environment in order, each name once (a later value replaces an earlier one in place). */
function envList(entries: Iterable<readonly [string, string]>): V1EnvVar[] {
  const m = new Map<string, string>();
  for (const [k, v] of entries) m.set(k, v);
  // An empty value is omitted, as the API server returns it (so covers() sees no difference).
  return [...m].map(([name, value]) => (value === '' ? { name } : { name, value }));
}

/** A Wisp probe as a Kubernetes one; a handler without a port probes `port` (as Knative fills in the user port). */
function probeFor(p: Probe, port: number | undefined): V1Probe {
  const out: V1Probe = {};
  if (p.httpGet) {
    const g = p.httpGet;
    const httpPort = g.port ?? port;
    out.httpGet = {
      ...(g.path !== undefined && { path: g.path }),
      ...(httpPort !== undefined && { port: httpPort }),
      ...(g.host !== undefined && { host: g.host }),
      ...(g.scheme !== undefined && { scheme: g.scheme }),
      ...(g.httpHeaders !== undefined && g.httpHeaders.length > 0 && { httpHeaders: g.httpHeaders.map((h) => ({ name: h.name, value: h.value })) }),
    } as V1Probe['httpGet'];
  }
  if (p.tcpSocket) {
    const tcpPort = p.tcpSocket.port ?? port;
    out.tcpSocket = { ...(tcpPort !== undefined && { port: tcpPort }), ...(p.tcpSocket.host !== undefined && { host: p.tcpSocket.host }) } as V1Probe['tcpSocket'];
  }
  if (!p.httpGet && !p.tcpSocket && port !== undefined) out.tcpSocket = { port };
  for (const k of ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'] as const) {
    const v = p[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The container's requests and limits (its own, and config-defaults' where it set none: see revision-defaults.ts). */
function resourcesFor(r: ResourceRequirements | undefined): V1ResourceRequirements | undefined {
  const requests = r?.requests !== undefined && Object.keys(r.requests).length > 0 ? { ...r.requests } : undefined;
  const limits = r?.limits !== undefined && Object.keys(r.limits).length > 0 ? { ...r.limits } : undefined;
  if (requests === undefined && limits === undefined) return undefined;
  return { ...(requests && { requests }), ...(limits && { limits }) };
}

function containerFor(workload: RevisionWorkload, c: Container, index: number): V1Container {
  const serving = index === 0 && workload.listens !== false;
  const port = serving ? servingPort(workload) : c.ports?.[0]?.containerPort;
  const env: [string, string][] = [];
  if (serving) env.push(['PORT', String(port)]);
  if (workload.listens !== false) {
    env.push(['K_SERVICE', workload.service], ['K_CONFIGURATION', workload.configuration], ['K_REVISION', workload.revision]);
  }
  for (const e of c.env ?? []) env.push([e.name, e.value ?? '']);
  for (const [k, v] of Object.entries(workload.env ?? {})) env.push([k, v]);
  const ports =
    c.ports !== undefined && c.ports.length > 0
      ? c.ports.map((p) => ({ ...(p.name !== undefined && { name: p.name }), containerPort: p.containerPort ?? DEFAULT_PORT, ...(p.protocol !== undefined && { protocol: p.protocol }) }))
      : serving
        ? [{ name: USER_PORT_NAME, containerPort: DEFAULT_PORT }]
        : undefined;
  const resources = resourcesFor(c.resources);
  const out: V1Container = {
    name: c.name ?? (index === 0 ? USER_CONTAINER_NAME : `sidecar-${index}`),
    // The API rejects a container without an image: the revision's failure then says so (DeploymentFailed).
    ...(c.image !== undefined && c.image !== '' && { image: c.image }),
    ...(c.command !== undefined && c.command.length > 0 && { command: [...c.command] }),
    ...(c.args !== undefined && c.args.length > 0 && { args: [...c.args] }),
    ...(c.workingDir !== undefined && c.workingDir !== '' && { workingDir: c.workingDir }),
    ...(ports !== undefined && { ports }),
    ...(env.length > 0 && { env: envList(env) }),
    ...(resources !== undefined && { resources }),
    // The last lines of the log become the termination message, so a crash's failure carries its stderr as locally.
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (serving) out.readinessProbe = probeFor(c.readinessProbe ?? { tcpSocket: {}, periodSeconds: 1 }, port);
  else if (c.readinessProbe && workload.listens !== false) out.readinessProbe = probeFor(c.readinessProbe, port);
  return out;
}

/** The revision's `apps/v1` Deployment, as created (0 replicas). */
export function buildDeployment(workload: RevisionWorkload): V1Deployment {
  const labels = workloadLabels(workload);
  const annotations = workload.annotations !== undefined && Object.keys(workload.annotations).length > 0 ? { ...workload.annotations } : undefined;
  const owners = ownerReferences(workload);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(workload.revision),
      namespace: workload.namespace,
      labels,
      ...(annotations && { annotations }),
      ...(owners && { ownerReferences: owners }),
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { [REVISION_LABEL]: workload.revision } },
      ...(workload.progressDeadlineSeconds !== undefined && { progressDeadlineSeconds: Math.max(1, Math.ceil(workload.progressDeadlineSeconds)) }),
      template: {
        metadata: { labels: { ...labels }, ...(annotations && { annotations: { ...annotations } }) },
        spec: {
          containers: containersOf(workload).map((c, i) => containerFor(workload, c, i)),
          terminationGracePeriodSeconds: workload.timeoutSeconds,
          // Knative's default: no docker-link variables for every Service of the namespace.
          enableServiceLinks: false,
        },
      },
    },
  };
}

/** The revision's `v1` Service `<revision>` (port 80 → the container port); undefined for a workload that does not listen. */
export function buildService(workload: RevisionWorkload): V1Service | undefined {
  if (workload.listens === false) return undefined;
  const owners = ownerReferences(workload);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: workload.revision,
      namespace: workload.namespace,
      labels: workloadLabels(workload),
      ...(owners && { ownerReferences: owners }),
    },
    spec: {
      selector: { [REVISION_LABEL]: workload.revision },
      ports: [{ name: SERVICE_PORT_NAME, port: SERVICE_PORT, targetPort: servingPort(workload), protocol: 'TCP' }],
    },
  };
}

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  return v !== null && typeof v === 'object' && Object.keys(v).length === 0;
}

/**
 * Whether `have` (an object as the API server returns it: defaulted, with fields of other writers) already holds
 * everything `want` sets. Objects: every key of `want` covered; arrays: same length, each element covered; scalars:
 * equal. An empty `want` object/array is covered by an absent one (the API server drops them). Pure.
 */
export function covers(have: unknown, want: unknown): boolean {
  if (want === undefined) return true;
  if (want !== null && typeof want === 'object' && (have === undefined || have === null)) return isEmpty(want);
  if (Array.isArray(want)) return Array.isArray(have) && have.length === want.length && want.every((w, i) => covers(have[i], w));
  if (want !== null && typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    const h = have as Record<string, unknown>;
    return Object.entries(want as Record<string, unknown>).every(([k, v]) => covers(h[k], v));
  }
  return have === want;
}

/**
 * A pod template whose containers' requests and limits are spelt by value: the API server stores quantities in their
 * canonical form (`1000m` as `1`, `0.5` as `500m`), which must not look like a change of ours. For comparing only.
 */
function comparableQuantities(t: V1PodTemplateSpec | undefined): V1PodTemplateSpec | undefined {
  if (!t?.spec?.containers.some((c) => c.resources !== undefined)) return t;
  const byValue = (list: Record<string, unknown> | undefined): Record<string, string> | undefined =>
    list && Object.fromEntries(Object.entries(list).map(([k, v]) => [k, String(quantityValue(String(v)) ?? v)]));
  const containers = t.spec.containers.map((c) => {
    if (c.resources === undefined) return c;
    const requests = byValue(c.resources.requests as Record<string, unknown> | undefined);
    const limits = byValue(c.resources.limits as Record<string, unknown> | undefined);
    return { ...c, resources: { ...c.resources, ...(requests && { requests }), ...(limits && { limits }) } };
  });
  return { ...t, spec: { ...t.spec, containers } };
}

/**
 * The Deployment to PUT when `existing` lacks something `want` sets, else undefined. It keeps the replica count (the
 * autoscaler's) and every label/annotation others added; it takes our labels, annotations, owner, progress deadline and
 * the whole pod template. Pure.
 */
export function deploymentUpdate(existing: V1Deployment, want: V1Deployment): V1Deployment | undefined {
  const m = existing.metadata ?? {};
  const w = want.metadata ?? {};
  const same =
    covers(m.labels, w.labels) &&
    covers(m.annotations, w.annotations) &&
    covers(m.ownerReferences, w.ownerReferences) &&
    covers(comparableQuantities(existing.spec?.template), comparableQuantities(want.spec?.template)) &&
    covers(existing.spec?.progressDeadlineSeconds, want.spec?.progressDeadlineSeconds);
  if (same || !existing.spec || !want.spec) return undefined;
  return {
    ...existing,
    metadata: {
      ...m,
      labels: { ...(m.labels ?? {}), ...(w.labels ?? {}) },
      ...((m.annotations !== undefined || w.annotations !== undefined) && { annotations: { ...(m.annotations ?? {}), ...(w.annotations ?? {}) } }),
      ...(w.ownerReferences !== undefined && { ownerReferences: w.ownerReferences }),
    },
    spec: {
      ...existing.spec,
      template: want.spec.template,
      ...(want.spec.progressDeadlineSeconds !== undefined && { progressDeadlineSeconds: want.spec.progressDeadlineSeconds }),
    },
  };
}

/** The Service to PUT when `existing` lacks something `want` sets (its clusterIP and other defaults kept), else undefined. Pure. */
export function serviceUpdate(existing: V1Service, want: V1Service): V1Service | undefined {
  const m = existing.metadata ?? {};
  const w = want.metadata ?? {};
  const same =
    covers(m.labels, w.labels) &&
    covers(m.ownerReferences, w.ownerReferences) &&
    covers(existing.spec?.selector, want.spec?.selector) &&
    covers(existing.spec?.ports, want.spec?.ports);
  if (same || !want.spec) return undefined;
  return {
    ...existing,
    metadata: {
      ...m,
      labels: { ...(m.labels ?? {}), ...(w.labels ?? {}) },
      ...(w.ownerReferences !== undefined && { ownerReferences: w.ownerReferences }),
    },
    spec: { ...(existing.spec ?? {}), selector: want.spec.selector, ports: want.spec.ports } as V1Service['spec'],
  };
}
