import { parseAutoscalerConfigMap, type AutoscalerConfig } from '../../autoscaler/index.js';
import { KINDS, kindOf, type KindInfo } from '../api/kinds.js';
import { COMPILED_SERVING_DEFAULTS, parseDefaultsConfigMap, type ServingDefaults } from '../api/config-defaults.js';
import { AUTOSCALER_CONFIGMAP, DEFAULTS_CONFIGMAP } from '../api/labels.js';
import type { KObject } from '../api/types.js';
import { formatInvalid, validate, type ValidationMode } from '../api/validate.js';
import { admit } from './admission.js';
import { BadRequestError, InvalidError, MethodNotAllowedError } from './errors.js';
import type { ApplyResult, ResourceReader, ResourceStore } from './resource-store.js';

export interface AppliedObject {
  info: KindInfo;
  object: KObject;
  result: ApplyResult;
  warnings: string[];
}

const CONFIGMAP_KIND = KINDS.find((k) => k.kind === 'ConfigMap' && k.group === '') as KindInfo;

/** Metadata the server sets: ignored in applied input, so `wisp get -o yaml | wisp apply -f -` changes nothing. */
export const SERVER_SET_METADATA = Object.freeze([
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
] as const);

/** At most this many warnings are sent; the rest become one "... and N more unknown fields" warning. */
export const MAX_WARNINGS = 20;
/** A longer warning is cut (a field name may be as long as the body): Warning headers stay well under clients' header limits. */
export const MAX_WARNING_LENGTH = 300;

/** The first `max` warnings (each at most MAX_WARNING_LENGTH characters), then one line counting the rest. Pure. */
export function collapseWarnings(warnings: readonly string[], max = MAX_WARNINGS): string[] {
  const cut = (w: string): string => (w.length > MAX_WARNING_LENGTH ? `${w.slice(0, MAX_WARNING_LENGTH - 3)}...` : w);
  const shown = warnings.slice(0, max).map(cut);
  const rest = warnings.length - shown.length;
  if (rest > 0) shown.push(`... and ${rest} more unknown field${rest === 1 ? '' : 's'}`);
  return shown;
}

/** The user's part of an input object: without `status` and without server-set metadata. */
export function withoutServerFields(input: KObject): KObject {
  const { status: _status, ...rest } = input;
  const meta: unknown = input.metadata;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return rest as KObject;
  const metadata: Record<string, unknown> = { ...(meta as Record<string, unknown>) };
  for (const k of SERVER_SET_METADATA) delete metadata[k];
  return { ...rest, metadata: metadata as unknown as KObject['metadata'] };
}

export interface ApplyOptions {
  /**
   * Where the store's objects run, for the rules that differ: `embedded` (default) or `kubernetes` (the store is a
   * cluster's API server: an ApiServerSource of any kind, SinkBindings of Deployments and Jobs are fine there).
   */
  mode?: ValidationMode;
}

/**
 * Validates, admits and stores one user object — what `PUT` on the control API and `wisp up -f` share.
 * Throws MethodNotAllowedError for platform-owned kinds and InvalidError with every field error.
 */
export async function applyObject(store: ResourceStore, input: KObject, opts: ApplyOptions = {}): Promise<AppliedObject> {
  const info = kindOf(input.apiVersion, input.kind);
  if (!info) throw new BadRequestError({ message: `unsupported apiVersion/kind ${input.apiVersion}/${input.kind}` });
  if (info.readOnly) {
    throw new MethodNotAllowedError({
      message: `${info.plural}.${info.group} are created by the platform and cannot be applied; apply a Service instead`,
      kind: info.kind,
      name: input.metadata.name,
    });
  }
  const autoscalerConfig = info.kind === 'Service' ? storedAutoscalerConfig(store) : undefined;
  const servingDefaults = info.kind === 'Service' ? storedServingDefaults(store) : undefined;
  const { object, errors, warnings } = validate(withoutServerFields(input), {
    ...(autoscalerConfig && { autoscalerConfig }),
    ...(servingDefaults && { servingDefaults }),
    ...(opts.mode && { mode: opts.mode }),
  });
  const all = [...errors, ...(object ? admit(store, object) : [])];
  if (!object || all.length > 0) {
    throw new InvalidError({ message: formatInvalid(info.kind, input.metadata.name, all), kind: info.kind, name: input.metadata.name, causes: all });
  }
  const applied = await store.apply(object);
  return { info, object: applied.object, result: applied.result, warnings: collapseWarnings(warnings) };
}

/** The platform-wide autoscaler settings as stored, for validating annotations against them. */
export function storedAutoscalerConfig(store: ResourceReader): AutoscalerConfig | undefined {
  const cm = store.get(CONFIGMAP_KIND, AUTOSCALER_CONFIGMAP.namespace, AUTOSCALER_CONFIGMAP.name);
  if (!cm) return undefined;
  try {
    return parseAutoscalerConfigMap(cm.data ?? {});
  } catch {
    // Stored before a stricter parser: fall back to the autoscaler's defaults rather than refuse every Service.
    return undefined;
  }
}

/**
 * The platform's config-defaults as stored, for defaulting and bounding a Service at admission (Knative's webhook reads
 * the same ConfigMap). The compiled defaults when there is none, or when the stored one does not parse (applied with
 * kubectl, bypassing this admission: the serving reconciler logs it).
 */
export function storedServingDefaults(store: ResourceReader & Pick<ResourceStore, 'serves'>): ServingDefaults {
  if (!store.serves(CONFIGMAP_KIND)) return COMPILED_SERVING_DEFAULTS;
  const cm = store.get(CONFIGMAP_KIND, DEFAULTS_CONFIGMAP.namespace, DEFAULTS_CONFIGMAP.name);
  if (!cm) return COMPILED_SERVING_DEFAULTS;
  try {
    return parseDefaultsConfigMap(cm.data ?? {});
  } catch {
    return COMPILED_SERVING_DEFAULTS;
  }
}
