/**
 * Knative Serving's `knative-serving/config-defaults` ConfigMap → ServingDefaults: compiled defaults (defaults.ts) →
 * parse → validate (incl. the rules across keys) → freeze. Mirrors knative/serving `pkg/apis/config/defaults.go`
 * (`NewDefaultsConfigFromMap`): the same keys, integers as Go's ParseInt reads them, quantities as Kubernetes', and
 * the same cross-key rules. Pure.
 *
 * Knative keys Wisp has no counterpart for (IGNORED_KNATIVE_KEYS) are read by nobody and only warned about; other
 * unknown keys and `_example` are ignored, as Knative does.
 */
import { SERVING_DEFAULTS } from './defaults.js';
import { outOfBounds, ServingDefaultsError, type FieldError } from './errors.js';
import { dns1123LabelErrors } from './names.js';
import { quantityValue } from './quantity.js';

/** The resources a revision's containers get requests and limits of (Knative's three). */
export const DEFAULTED_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'] as const;
export type DefaultedResource = (typeof DEFAULTED_RESOURCES)[number];
export type ResourceList = Readonly<Partial<Record<DefaultedResource, string>>>;

/** What a revision is defaulted and bounded with when it is cut. */
export interface ServingDefaults {
  /** `revision-timeout-seconds`: a revision's `timeoutSeconds` when it sets none (or 0). */
  readonly timeoutSeconds: number;
  /** `max-revision-timeout-seconds`: the largest `timeoutSeconds` a revision may set. */
  readonly maxTimeoutSeconds: number;
  /** `container-concurrency`: a revision's `containerConcurrency` when it sets none (0 = unlimited). */
  readonly containerConcurrency: number;
  /** `container-concurrency-max-limit`: the largest `containerConcurrency` a revision may set. */
  readonly maxContainerConcurrency: number;
  /** `container-name-template`: a name, or a template where `{{.Name}}` stands for the Service's name. */
  readonly containerNameTemplate: string;
  /** `revision-{cpu,memory,ephemeral-storage}-{request,limit}`: each set on a container that does not set it. */
  readonly resources: { readonly requests: ResourceList; readonly limits: ResourceList };
}

/** The defaults without a config-defaults ConfigMap (Knative's, as defaults.ts states them). */
export const COMPILED_SERVING_DEFAULTS: ServingDefaults = Object.freeze({
  timeoutSeconds: SERVING_DEFAULTS.timeoutSeconds,
  maxTimeoutSeconds: SERVING_DEFAULTS.maxTimeoutSeconds,
  containerConcurrency: SERVING_DEFAULTS.containerConcurrency,
  maxContainerConcurrency: SERVING_DEFAULTS.maxContainerConcurrency,
  containerNameTemplate: SERVING_DEFAULTS.containerName,
  resources: Object.freeze({ requests: Object.freeze({}), limits: Object.freeze({}) }),
});

const INT_KEYS = {
  'revision-timeout-seconds': 'timeoutSeconds',
  'max-revision-timeout-seconds': 'maxTimeoutSeconds',
  'container-concurrency': 'containerConcurrency',
  'container-concurrency-max-limit': 'maxContainerConcurrency',
} as const;
const NAME_TEMPLATE_KEY = 'container-name-template';
const resourceKey = (r: DefaultedResource, side: 'request' | 'limit'): string => `revision-${r}-${side}`;

/** The keys of config-defaults Wisp reads. */
export const CONFIG_DEFAULTS_KEYS: readonly string[] = Object.freeze([
  ...Object.keys(INT_KEYS),
  NAME_TEMPLATE_KEY,
  ...DEFAULTED_RESOURCES.flatMap((r) => [resourceKey(r, 'request'), resourceKey(r, 'limit')]),
]);

/**
 * Keys Knative reads that have no counterpart in Wisp: `revision-response-start-timeout-seconds` and
 * `revision-idle-timeout-seconds` (Wisp's activator has one per-request timeout, `timeoutSeconds`, for the response
 * to start), `init-container-name-template` (no init containers), `allow-container-concurrency-zero` and
 * `enable-service-links` (Wisp's Deployments always set `enableServiceLinks: false`). Warned about, not read.
 */
export const IGNORED_KNATIVE_KEYS: readonly string[] = Object.freeze([
  'revision-response-start-timeout-seconds',
  'revision-idle-timeout-seconds',
  'init-container-name-template',
  'allow-container-concurrency-zero',
  'enable-service-links',
]);

/** `{{.Name}}`, `{{ .Name }}`, `{{- .Name -}}`: the one template action Wisp supports. */
const NAME_ACTION = /\{\{-?\s*\.Name\s*-?\}\}/g;
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MAX = 2 ** 31 - 1;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Go's `strconv.ParseInt(strings.TrimSpace(raw), 10, 64)`, kept to the integers a JavaScript number holds exactly. */
function parseInt64(key: string, raw: string): { value?: number; issue?: FieldError } {
  const s = raw.trim();
  const field = `data.${key}`;
  if (!/^[+-]?\d+$/.test(s)) return { issue: { field, message: `invalid value "${raw}": want an integer` } };
  const big = BigInt(s);
  if (big > INT64_MAX || big < -INT64_MAX - 1n || big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
    return { issue: { field, message: `invalid value "${raw}": value out of range` } };
  }
  return { value: Number(big) };
}

/** `{{.Name}}` → the Service's name; a template without it is the name itself. */
export function renderContainerName(template: string, serviceName: string): string {
  return template.replace(NAME_ACTION, serviceName);
}

function nameTemplateIssue(raw: string): FieldError | undefined {
  const field = `data.${NAME_TEMPLATE_KEY}`;
  if (raw.replace(NAME_ACTION, '').includes('{{')) {
    return {
      field,
      message: `invalid value "${raw}": Wisp supports a plain container name or the template {{.Name}} (the Service's name), not other Go template actions`,
    };
  }
  // Rendered for a one-letter Service: what is left must make a container name (Knative rejects such revisions later).
  const sample = renderContainerName(raw, 'a');
  const problems = sample === '' ? ['must not be empty'] : dns1123LabelErrors(sample);
  if (problems.length > 0) return { field, message: `invalid value "${raw}": the container name it gives ${problems.join('; ')}` };
  return undefined;
}

function build(data: Readonly<Record<string, string>>): { defaults: ServingDefaults; issues: FieldError[] } {
  const d: Mutable<Omit<ServingDefaults, 'resources'>> = { ...COMPILED_SERVING_DEFAULTS };
  const issues: FieldError[] = [];
  for (const [key, prop] of Object.entries(INT_KEYS)) {
    const raw = data[key];
    if (raw === undefined) continue;
    const { value, issue } = parseInt64(key, raw);
    if (issue) issues.push(issue);
    else if (value !== undefined) d[prop] = value;
  }
  const template = data[NAME_TEMPLATE_KEY];
  if (template !== undefined) {
    const issue = nameTemplateIssue(template);
    if (issue) issues.push(issue);
    else d.containerNameTemplate = template;
  }
  const requests: Partial<Record<DefaultedResource, string>> = {};
  const limits: Partial<Record<DefaultedResource, string>> = {};
  for (const r of DEFAULTED_RESOURCES) {
    for (const [side, into] of [['request', requests], ['limit', limits]] as const) {
      const key = resourceKey(r, side);
      const raw = data[key];
      if (raw === undefined) continue;
      const s = raw.trim();
      const value = quantityValue(s);
      if (value === undefined) issues.push({ field: `data.${key}`, message: `invalid value "${raw}": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (e.g. 400m, 128Mi, 1G)` });
      else if (value < 0) issues.push({ field: `data.${key}`, message: `invalid value "${raw}": must be greater than or equal to 0` });
      else into[r] = s;
    }
    const req = requests[r];
    const lim = limits[r];
    if (req !== undefined && lim !== undefined && (quantityValue(req) ?? 0) > (quantityValue(lim) ?? 0)) {
      issues.push({ field: `data.${resourceKey(r, 'request')}`, message: `${resourceKey(r, 'request')} (${req}) cannot be greater than ${resourceKey(r, 'limit')} (${lim})` });
    }
  }

  // Knative's rules across keys, in its order; only on values that parsed (a bad value is reported once, above).
  const parsed = (key: keyof typeof INT_KEYS): boolean => !issues.some((i) => i.field === `data.${key}`);
  if (parsed('revision-timeout-seconds') && d.timeoutSeconds < 1) {
    issues.push({ field: 'data.revision-timeout-seconds', message: `invalid value "${data['revision-timeout-seconds'] ?? ''}": ${outOfBounds(d.timeoutSeconds, 1, d.maxTimeoutSeconds)}` });
  } else if (parsed('revision-timeout-seconds') && parsed('max-revision-timeout-seconds') && d.timeoutSeconds > d.maxTimeoutSeconds) {
    issues.push({
      field: 'data.revision-timeout-seconds',
      message: `revision-timeout-seconds (${d.timeoutSeconds}) cannot be greater than max-revision-timeout-seconds (${d.maxTimeoutSeconds})`,
    });
  }
  if (parsed('container-concurrency-max-limit') && d.maxContainerConcurrency < 1) {
    issues.push({ field: 'data.container-concurrency-max-limit', message: outOfBounds(d.maxContainerConcurrency, 1, INT32_MAX) });
  } else if (parsed('container-concurrency') && parsed('container-concurrency-max-limit') && (d.containerConcurrency < 0 || d.containerConcurrency > d.maxContainerConcurrency)) {
    issues.push({ field: 'data.container-concurrency', message: outOfBounds(d.containerConcurrency, 0, d.maxContainerConcurrency) });
  }
  const defaults: ServingDefaults = Object.freeze({ ...d, resources: Object.freeze({ requests: Object.freeze(requests), limits: Object.freeze(limits) }) });
  return { defaults, issues };
}

/** Every problem in config-defaults' `data`, as `{ field: 'data.<key>', message }`; empty when it is valid. */
export function validateDefaultsConfigMap(data: Readonly<Record<string, string>> | undefined): FieldError[] {
  return build(data ?? {}).issues;
}

/** The frozen defaults from config-defaults' `data`. Throws ServingDefaultsError naming each bad key, its value and why. */
export function parseDefaultsConfigMap(data: Readonly<Record<string, string>> | undefined): ServingDefaults {
  const { defaults, issues } = build(data ?? {});
  if (issues.length > 0) throw new ServingDefaultsError(issues);
  return defaults;
}

/** Warnings for keys nothing reads: Knative's keys Wisp has no counterpart for, and keys Knative does not know either. */
export function defaultsConfigMapWarnings(data: Readonly<Record<string, string>> | undefined): string[] {
  const out: string[] = [];
  for (const k of Object.keys(data ?? {})) {
    if (k.startsWith('_') || CONFIG_DEFAULTS_KEYS.includes(k)) continue;
    out.push(
      IGNORED_KNATIVE_KEYS.includes(k)
        ? `field "data.${k}" is not read: Wisp has no counterpart of this Knative setting`
        : `unknown field "data.${k}" (config-defaults does not read it)`,
    );
  }
  return out;
}
