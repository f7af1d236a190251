/** ConfigMap validation: only the autoscaler's platform-wide ConfigMap has semantic rules; others are stored as they are. */
import { unknownAutoscalerConfigKeys, validateAutoscalerConfigMap } from '../../autoscaler/index.js';
import { joinField, type FieldError } from './errors.js';
import { AUTOSCALER_CONFIGMAP } from './labels.js';
import type { KObject } from './types.js';

export function isAutoscalerConfigMap(cm: KObject): boolean {
  return cm.metadata.namespace === AUTOSCALER_CONFIGMAP.namespace && cm.metadata.name === AUTOSCALER_CONFIGMAP.name;
}

/** Keys of config-autoscaler that nothing reads: warned about, kept. */
export function configMapWarnings(cm: KObject): string[] {
  if (!isAutoscalerConfigMap(cm)) return [];
  return unknownAutoscalerConfigKeys(cm.data ?? {}).map((k) => `unknown field "data.${k}" (config-autoscaler does not read it)`);
}

export function configMapErrors(cm: KObject): FieldError[] {
  if (!isAutoscalerConfigMap(cm)) return [];
  return validateAutoscalerConfigMap(cm.data ?? {}).map((e: FieldError) => ({ field: joinField('data', e.field), message: e.message }));
}
