/**
 * The test kubelet's pure core for "what process does this container run": command/args from the container or
 * the images map, env with fieldRef/configMapKeyRef/secretKeyRef/envFrom, and Kubernetes' `$(VAR)` expansion.
 * No I/O here: ConfigMaps and Secrets are looked up by the caller and handed in.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** What an image "contains" for the test kubelet: the process it runs when the container gives no command. */
export interface ImageEntry {
  command: string[];
  args?: string[];
  workingDir?: string;
  env?: Record<string, string>;
}

export interface ResolvedContainer {
  command: string;
  args: string[];
  env: Record<string, string>;
  workingDir: string;
}

/** A container that cannot start yet, with the reason the real kubelet would report in `state.waiting`. */
export interface ContainerWaiting {
  reason: 'ErrImagePull' | 'CreateContainerConfigError';
  message: string;
}

export type ResolveResult = { ok: true; value: ResolvedContainer } | { ok: false; waiting: ContainerWaiting };

/** Data a container's env refers to, fetched by the caller: `namespace/name` absent from the map = not found. */
export interface ConfigSources {
  configMaps: ReadonlyMap<string, Readonly<Record<string, string>>>;
  secrets: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export interface ResolveContext {
  pod: V1Pod;
  images: Readonly<Record<string, ImageEntry>>;
  nodeName: string;
  hostIP: string;
  podIP: string;
  /** Env every process starts with (the "image's" PATH, HOME, ...), lowest precedence. */
  baseEnv: Readonly<Record<string, string>>;
  /** Env the network adds (loopback mode: POD_IP, HOST), above the base, below the Pod's own env. */
  networkEnv: Readonly<Record<string, string>>;
  defaultWorkingDir: string;
  sources: ConfigSources;
}

/**
 * Kubernetes' expansion of `$(VAR)` (k8s.io/kubernetes third_party/forked/golang/expansion): `$(NAME)` becomes
 * the value when NAME is defined, else stays as written; `$$` is an escaped `$`; any other `$` is literal.
 */
export function expandVars(input: string, vars: Readonly<Record<string, string>>): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const n = input[i + 1];
    if (n === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (n === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += Object.hasOwn(vars, name) ? vars[name] : `$(${name})`;
      i = close + 1;
      continue;
    }
    out += c + n;
    i += 2;
  }
  return out;
}

/** The image's entry: exact match first, then the name without `@digest` / `:tag`. */
export function lookupImage(images: Readonly<Record<string, ImageEntry>>, image: string | undefined): ImageEntry | undefined {
  if (!image) return undefined;
  if (Object.hasOwn(images, image)) return images[image];
  const noDigest = image.split('@')[0] ?? image;
  if (Object.hasOwn(images, noDigest)) return images[noDigest];
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const noTag = colon > slash ? noDigest.slice(0, colon) : noDigest;
  return Object.hasOwn(images, noTag) ? images[noTag] : undefined;
}

/** `namespace/name` of every ConfigMap and Secret the container's env refers to. */
export function referencedSources(pod: V1Pod, container: V1Container): { configMaps: string[]; secrets: string[] } {
  const ns = pod.metadata?.namespace ?? 'default';
  const cms = new Set<string>();
  const secrets = new Set<string>();
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef?.name) cms.add(`${ns}/${from.configMapRef.name}`);
    if (from.secretRef?.name) secrets.add(`${ns}/${from.secretRef.name}`);
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.configMapKeyRef?.name) cms.add(`${ns}/${e.valueFrom.configMapKeyRef.name}`);
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(`${ns}/${e.valueFrom.secretKeyRef.name}`);
  }
  return { configMaps: [...cms], secrets: [...secrets] };
}

/** The value of a `fieldRef` path, as the real kubelet resolves it (downward API), or undefined when unsupported. */
export function fieldRefValue(pod: V1Pod, path: string, ctx: { nodeName: string; hostIP: string; podIP: string }): string | undefined {
  const md = pod.metadata ?? {};
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label?.[1] !== undefined) return md.labels?.[label[1]] ?? '';
  const ann = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (ann?.[1] !== undefined) return md.annotations?.[ann[1]] ?? '';
  switch (path) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? 'default';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'spec.nodeName':
      return ctx.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP;
    default:
      return undefined;
  }
}

function sourceName(kind: 'configmap' | 'secret', key: string): string {
  return `${kind} "${key.split('/')[1] ?? key}"`;
}

/** Resolves one container of `ctx.pod` into the process to run, or the waiting reason why it cannot run. */
export function resolveContainer(container: V1Container, ctx: ResolveContext): ResolveResult {
  const image = lookupImage(ctx.images, container.image);
  const hasCommand = (container.command?.length ?? 0) > 0;
  if (!hasCommand && !image) {
    return {
      ok: false,
      waiting: {
        reason: 'ErrImagePull',
        message: `Failed to pull image "${container.image ?? ''}": the test kubelet runs no images: map "${container.image ?? ''}" to a command in startKubelet({ images }), or give the container a command`,
      },
    };
  }
  const ns = ctx.pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = { ...ctx.baseEnv, ...(image?.env ?? {}), ...ctx.networkEnv, HOSTNAME: ctx.pod.metadata?.name ?? '' };
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref?.name) continue;
    const key = `${ns}/${ref.name}`;
    const kind = from.configMapRef ? 'configmap' : 'secret';
    const data = kind === 'configmap' ? ctx.sources.configMaps.get(key) : ctx.sources.secrets.get(key);
    if (!data) {
      if (ref.optional) continue;
      return { ok: false, waiting: { reason: 'CreateContainerConfigError', message: `${sourceName(kind, key)} not found` } };
    }
    for (const [k, v] of Object.entries(data)) env[prefix + k] = v;
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) {
        const v = fieldRefValue(ctx.pod, vf.fieldRef.fieldPath, ctx);
        if (v === undefined) {
          return { ok: false, waiting: { reason: 'CreateContainerConfigError', message: `env ${e.name}: fieldRef ${vf.fieldRef.fieldPath} is not supported by the test kubelet` } };
        }
        env[e.name] = v;
      } else if (vf.configMapKeyRef || vf.secretKeyRef) {
        const ref = vf.configMapKeyRef ?? vf.secretKeyRef;
        const kind = vf.configMapKeyRef ? 'configmap' : 'secret';
        const key = `${ns}/${ref?.name ?? ''}`;
        const data = kind === 'configmap' ? ctx.sources.configMaps.get(key) : ctx.sources.secrets.get(key);
        const v = data && ref ? data[ref.key] : undefined;
        if (v === undefined) {
          if (ref?.optional) continue;
          const message = data ? `couldn't find key ${ref?.key ?? ''} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${key}` : `${sourceName(kind, key)} not found`;
          return { ok: false, waiting: { reason: 'CreateContainerConfigError', message } };
        }
        env[e.name] = v;
      } else if (vf.resourceFieldRef) {
        // No cgroups here: a limit reads as the request or "0", which is what an unlimited container reads as node capacity.
        const res = vf.resourceFieldRef.resource;
        const fromSpec = res.startsWith('limits.') ? container.resources?.limits?.[res.slice(7)] : container.resources?.requests?.[res.slice(9)];
        env[e.name] = fromSpec === undefined ? '0' : String(fromSpec);
      }
    } else {
      env[e.name] = expandVars(e.value ?? '', env);
    }
  }
  const argvCommand = hasCommand ? (container.command ?? []) : (image?.command ?? []);
  const argvArgs = container.args ?? (hasCommand ? [] : (image?.args ?? []));
  const expanded = [...argvCommand, ...argvArgs].map((s) => expandVars(s, env));
  const [command, ...args] = expanded;
  if (command === undefined) {
    return { ok: false, waiting: { reason: 'ErrImagePull', message: `image "${container.image ?? ''}" is mapped to an empty command` } };
  }
  return { ok: true, value: { command, args, env, workingDir: container.workingDir ?? image?.workingDir ?? ctx.defaultWorkingDir } };
}
