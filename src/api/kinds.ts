/** The resource kinds Wisp knows, with the names kubectl and kn accept for them. */
export interface KindInfo {
  kind: string;
  /** '' for the core group (ConfigMap). */
  group: string;
  version: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  /** Created by the platform, not by users (Revision, Route): `apply` of one is refused. */
  readOnly: boolean;
}

export const KINDS: readonly KindInfo[] = Object.freeze([
  { kind: 'Service', group: 'serving.knative.dev', version: 'v1', plural: 'services', singular: 'service', shortNames: ['ksvc', 'kservice'], readOnly: false },
  { kind: 'Configuration', group: 'serving.knative.dev', version: 'v1', plural: 'configurations', singular: 'configuration', shortNames: ['config', 'cfg'], readOnly: true },
  { kind: 'Revision', group: 'serving.knative.dev', version: 'v1', plural: 'revisions', singular: 'revision', shortNames: ['rev'], readOnly: true },
  { kind: 'Route', group: 'serving.knative.dev', version: 'v1', plural: 'routes', singular: 'route', shortNames: ['rt'], readOnly: true },
  { kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', singular: 'configmap', shortNames: ['cm'], readOnly: false },
  { kind: 'Broker', group: 'eventing.knative.dev', version: 'v1', plural: 'brokers', singular: 'broker', shortNames: [], readOnly: false },
  { kind: 'Trigger', group: 'eventing.knative.dev', version: 'v1', plural: 'triggers', singular: 'trigger', shortNames: [], readOnly: false },
  { kind: 'PingSource', group: 'sources.knative.dev', version: 'v1', plural: 'pingsources', singular: 'pingsource', shortNames: [], readOnly: false },
  { kind: 'ContainerSource', group: 'sources.knative.dev', version: 'v1', plural: 'containersources', singular: 'containersource', shortNames: [], readOnly: false },
  { kind: 'SinkBinding', group: 'sources.knative.dev', version: 'v1', plural: 'sinkbindings', singular: 'sinkbinding', shortNames: [], readOnly: false },
  { kind: 'ApiServerSource', group: 'sources.knative.dev', version: 'v1', plural: 'apiserversources', singular: 'apiserversource', shortNames: [], readOnly: false },
  { kind: 'KafkaSource', group: 'sources.knative.dev', version: 'v1beta1', plural: 'kafkasources', singular: 'kafkasource', shortNames: [], readOnly: false },
]);

/** `serving.knative.dev/v1`, or `v1` for the core group. */
export function apiVersionOf(info: KindInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** Finds a kind by what a user typed on the command line: plural, singular, short name or Kind, any case, optionally `.group`. */
export function kindByName(name: string): KindInfo | undefined {
  const lower = name.toLowerCase();
  const [base, ...groupParts] = lower.split('.');
  const group = groupParts.join('.');
  return KINDS.find(
    (k) =>
      (!group || k.group === group) &&
      (k.plural === base || k.singular === base || k.kind.toLowerCase() === base || k.shortNames.includes(base ?? '')),
  );
}

/** kindByName for a name the code itself spells (`'revisions'`, `'brokers.eventing.knative.dev'`): unknown is a bug. */
export function requireKind(name: string): KindInfo {
  const k = kindByName(name);
  if (!k) throw new Error(`unknown kind ${name}`);
  return k;
}

/** Finds a kind from an object's `apiVersion` and `kind`. */
export function kindOf(apiVersion: string, kind: string): KindInfo | undefined {
  return KINDS.find((k) => apiVersionOf(k) === apiVersion && k.kind === kind);
}

/** The control API path of a collection or one object. */
export function resourcePath(info: KindInfo, namespace?: string, name?: string): string {
  const root = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const one = name !== undefined ? `/${encodeURIComponent(name)}` : '';
  return `${root}${ns}/${info.plural}${one}`;
}

/** `service.serving.knative.dev` as kubectl prints it. */
export function qualifiedSingular(info: KindInfo): string {
  return info.group ? `${info.singular}.${info.group}` : info.singular;
}
