/**
 * ConfigMap validation: Knative Serving's platform-wide ConfigMaps Wisp reads (config-autoscaler, config-defaults)
 * have semantic rules, as Knative's ConfigMap webhook checks them; others are stored as they are.
 */
import { unknownAutoscalerConfigKeys, validateAutoscalerConfigMap } from '../../autoscaler/index.js';
import { defaultsConfigMapWarnings, validateDefaultsConfigMap } from './config-defaults.js';
import { joinField, type FieldError } from './errors.js';
import { AUTOSCALER_CONFIGMAP, DEFAULTS_CONFIGMAP } from './labels.js';
import type { KObject } from './types.js';

export function isAutoscalerConfigMap(cm: KObject): boolean {
  return cm.metadata.namespace === AUTOSCALER_CONFIGMAP.namespace && cm.metadata.name === AUTOSCALER_CONFIGMAP.name;
}

export function isDefaultsConfigMap(cm: KObject): boolean {
  return cm.metadata.namespace === DEFAULTS_CONFIGMAP.namespace && cm.metadata.name === DEFAULTS_CONFIGMAP.name;
}

/** Keys of config-autoscaler and config-defaults that nothing reads: warned about, kept. */
export function configMapWarnings(cm: KObject): string[] {
  if (isDefaultsConfigMap(cm)) return defaultsConfigMapWarnings(cm.data ?? {});
  if (!isAutoscalerConfigMap(cm)) return [];
  return unknownAutoscalerConfigKeys(cm.data ?? {}).map((k) => `unknown field "data.${k}" (config-autoscaler does not read it)`);
}

export function configMapErrors(cm: KObject): FieldError[] {
  if (isDefaultsConfigMap(cm)) return validateDefaultsConfigMap(cm.data ?? {});
  if (!isAutoscalerConfigMap(cm)) return [];
  return validateAutoscalerConfigMap(cm.data ?? {}).map((e: FieldError) => ({ field: joinField('data', e.field), message: e.message }));
}
