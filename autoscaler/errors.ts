/**
 * Typed errors of the autoscaler. The core throws these; edges (the control API, the platform) turn them
 * into status codes with `statusCode`.
 */
import { WispError, type WispErrorOptions } from '../src/errors.js';
export type AutoscalerErrorCode = 'WISP_ERR_AUTOSCALER_CONFIG' | 'WISP_ERR_SCALING_ANNOTATIONS';

/** Every code with what it means; a test checks each code is documented here. */
export const ERROR_CODES: Readonly<Record<AutoscalerErrorCode, string>> = Object.freeze({
  WISP_ERR_AUTOSCALER_CONFIG: 'the config-autoscaler ConfigMap has a key that does not parse or is out of range (400)',
  WISP_ERR_SCALING_ANNOTATIONS: 'a revision has an autoscaling.knative.dev/* annotation that does not parse or is out of range (400)',
});

/** One problem with a field: `data.stable-window` or `metadata.annotations[autoscaling.knative.dev/window]`. */
export interface FieldIssue {
  field: string;
  message: string;
}

export type AutoscalerErrorOptions = WispErrorOptions;

export abstract class AutoscalerError extends WispError<AutoscalerErrorCode> {}

/** `config-autoscaler: data.max-scale-down-rate: must be greater than 1, was 0.5` (issues joined by `; `). */
export class AutoscalerConfigError extends AutoscalerError {
  readonly code = 'WISP_ERR_AUTOSCALER_CONFIG' as const;
  readonly statusCode = 400;
  readonly retriable = false;
  constructor(readonly issues: readonly FieldIssue[]) {
    super(issues.map((i) => `config-autoscaler: ${i.field}: ${i.message}`).join('; '));
  }
}

/** `revision default/hello-00001: metadata.annotations[autoscaling.knative.dev/window]: invalid duration "6x"`. */
export class ScalingAnnotationsError extends AutoscalerError {
  readonly code = 'WISP_ERR_SCALING_ANNOTATIONS' as const;
  readonly statusCode = 400;
  readonly retriable = false;
  constructor(readonly issues: readonly FieldIssue[], readonly revision?: string) {
    const where = revision === undefined ? '' : `revision ${revision}: `;
    super(issues.map((i) => `${where}${i.field}: ${i.message}`).join('; '));
  }
}
