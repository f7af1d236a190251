/**
 * Limits on untrusted input, in one place: request bodies of the control API, manifests read by `wisp apply`,
 * Trigger filters and CESQL expressions. Each limit stops a recursion that would otherwise overflow the stack
 * (a `RangeError` the control API answered with 500) or an expansion that would exhaust memory.
 *
 * This module imports nothing, so the broker's filter and CESQL modules read it as well (like src/clock.ts, it
 * belongs with the kernel once `core/` exists). The README's "Input limits" table lists the same values.
 */
export interface InputLimits {
  /**
   * Nesting of objects and arrays in one JSON or YAML document (a request body, one document of a manifest
   * file), counted after YAML aliases are expanded. Knative objects need about 10; a body over the limit is a
   * 400, an object that reaches validation another way a 422.
   */
  readonly maxDocumentDepth: number;
  /**
   * Size of one document after YAML aliases are expanded: characters of every string (keys included) plus one
   * per value. Kubernetes' API server refuses request bodies over 3 MiB; without aliases no document that fits
   * the control API's body limit comes near it.
   */
  readonly maxDocumentSize: number;
  /** The `yaml` library's `maxAliasCount` (its own default, made explicit): stops "billion laughs" documents. */
  readonly maxYamlAliasCount: number;
  /** Nesting of `all` / `any` / `not` in a Trigger's `spec.filters` (an element of `filters` is level 1). */
  readonly maxFilterDepth: number;
  /**
   * Nesting of a CESQL expression: parentheses, prefix operators (`NOT`, `-`), function calls and `IN` lists,
   * and the length of a chain of binary operators (`a OR b OR c` nests 2 deep): whatever the parser or the
   * evaluator recurses on. Long OR chains over one attribute read better as `IN (...)`.
   */
  readonly maxCesqlDepth: number;
}

export const INPUT_LIMITS: InputLimits = Object.freeze({
  maxDocumentDepth: 100,
  maxDocumentSize: 3 * 1024 * 1024,
  maxYamlAliasCount: 100,
  maxFilterDepth: 32,
  maxCesqlDepth: 200,
});
