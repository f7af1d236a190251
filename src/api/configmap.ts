/** ConfigMap validation: only the autoscaler's platform-wide ConfigMap has semantic rules; others are stored as they are. */
import { validateAutoscalerConfigMap } from '../../autoscaler/index.js';
import { joinField, type FieldError } from './errors.js';
import { AUTOSCALER_CONFIGMAP } from './labels.js';
import type { KObject } from './types.js';

export function configMapErrors(cm: KObject): FieldError[] {
  if (cm.metadata.namespace !== AUTOSCALER_CONFIGMAP.namespace || cm.metadata.name !== AUTOSCALER_CONFIGMAP.name) return [];
  return validateAutoscalerConfigMap(cm.data ?? {}).map((e: FieldError) => ({ field: joinField('data', e.field), message: e.message }));
}
