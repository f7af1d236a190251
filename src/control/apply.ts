import { parseAutoscalerConfigMap, type AutoscalerConfig } from '../../autoscaler/index.js';
import { KINDS, kindOf, type KindInfo } from '../api/kinds.js';
import { AUTOSCALER_CONFIGMAP } from '../api/labels.js';
import type { KObject } from '../api/types.js';
import { formatInvalid, validate } from '../api/validate.js';
import { admit } from './admission.js';
import { BadRequestError, InvalidError, MethodNotAllowedError } from './errors.js';
import type { ApplyResult, Store } from './store.js';

export interface AppliedObject {
  info: KindInfo;
  object: KObject;
  result: ApplyResult;
  warnings: string[];
}

const CONFIGMAP_KIND = KINDS.find((k) => k.kind === 'ConfigMap' && k.group === '') as KindInfo;

/**
 * Validates, admits and stores one user object — what `PUT` on the control API and `wisp up -f` share.
 * Throws MethodNotAllowedError for platform-owned kinds and InvalidError with every field error.
 */
export function applyObject(store: Store, input: KObject): AppliedObject {
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
  const { object, errors, warnings } = validate(input, autoscalerConfig ? { autoscalerConfig } : {});
  const all = [...errors, ...(object ? admit(store, object) : [])];
  if (!object || all.length > 0) {
    throw new InvalidError({ message: formatInvalid(info.kind, input.metadata.name, all), kind: info.kind, name: input.metadata.name, causes: all });
  }
  const applied = store.apply(object);
  return { info, object: applied.object, result: applied.result, warnings };
}

/** The platform-wide autoscaler settings as stored, for validating annotations against them. */
export function storedAutoscalerConfig(store: Store): AutoscalerConfig | undefined {
  const cm = store.get(CONFIGMAP_KIND, AUTOSCALER_CONFIGMAP.namespace, AUTOSCALER_CONFIGMAP.name);
  if (!cm) return undefined;
  try {
    return parseAutoscalerConfigMap(cm.data ?? {});
  } catch {
    // Stored before a stricter parser: fall back to the autoscaler's defaults rather than refuse every Service.
    return undefined;
  }
}
