/** Typed errors of the Trigger filter compiler. Validation reports problems as field errors instead. */

/** Thrown by `compileTriggerFilter` for filters nested deeper than `maxFilterDepth` (validation refuses them first). */
export class FilterTooDeepError extends Error {
  readonly code = 'WISP_ERR_FILTER_TOO_DEEP';
  readonly statusCode = 422;
  readonly retriable = false;
  /** Path of the element that crossed the limit, e.g. `filters[0].not.not`. */
  readonly field: string;

  constructor(field: string, maxDepth: number) {
    super(`${field}: ${filterDepthMessage(maxDepth)}`);
    this.name = 'FilterTooDeepError';
    this.field = field;
  }
}

/** Every code this component throws, documented. */
export const FILTER_ERROR_CODES: Readonly<Record<string, string>> = Object.freeze({
  WISP_ERR_FILTER_TOO_DEEP: 'A Trigger filter nests all/any/not deeper than the limit (maxFilterDepth).',
});

export function filterDepthMessage(maxDepth: number): string {
  return `filters nested deeper than ${maxDepth} levels of all/any/not (limit maxFilterDepth = ${maxDepth})`;
}
