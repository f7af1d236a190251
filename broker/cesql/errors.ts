/**
 * Typed errors of the CESQL engine. `kind` is the CESQL TCK's error value; `code` is Wisp's stable code.
 * Parse errors are thrown by `parseCesql`; evaluation errors are never thrown: they are collected and
 * returned beside the value (CESQL v1.0 §3.3).
 */
export type CesqlErrorKind =
  | 'parse'
  | 'math'
  | 'cast'
  | 'missingAttribute'
  | 'missingFunction'
  | 'functionEvaluation'
  | 'generic';

export type CesqlErrorCode =
  | 'WISP_ERR_CESQL_PARSE'
  | 'WISP_ERR_CESQL_MATH'
  | 'WISP_ERR_CESQL_CAST'
  | 'WISP_ERR_CESQL_MISSING_ATTRIBUTE'
  | 'WISP_ERR_CESQL_MISSING_FUNCTION'
  | 'WISP_ERR_CESQL_FUNCTION_EVALUATION'
  | 'WISP_ERR_CESQL_GENERIC';

/** Every code with what it means; a test checks each code is documented here. */
export const ERROR_CODES: Readonly<Record<CesqlErrorCode, string>> = Object.freeze({
  WISP_ERR_CESQL_PARSE: 'the expression is not valid CESQL; the Trigger is rejected (400)',
  WISP_ERR_CESQL_MATH: 'division or modulo by zero, or an integer result outside the 32-bit range',
  WISP_ERR_CESQL_CAST: 'a value could not be cast to the type an operator or function needs',
  WISP_ERR_CESQL_MISSING_ATTRIBUTE: 'the expression reads an attribute the event does not have',
  WISP_ERR_CESQL_MISSING_FUNCTION: 'no built-in function has that name and number of arguments',
  WISP_ERR_CESQL_FUNCTION_EVALUATION: 'a function was called with arguments outside its domain (e.g. LEFT with a negative length)',
  WISP_ERR_CESQL_GENERIC: 'any other evaluation error',
});

const CODE_OF_KIND: Readonly<Record<CesqlErrorKind, CesqlErrorCode>> = Object.freeze({
  parse: 'WISP_ERR_CESQL_PARSE',
  math: 'WISP_ERR_CESQL_MATH',
  cast: 'WISP_ERR_CESQL_CAST',
  missingAttribute: 'WISP_ERR_CESQL_MISSING_ATTRIBUTE',
  missingFunction: 'WISP_ERR_CESQL_MISSING_FUNCTION',
  functionEvaluation: 'WISP_ERR_CESQL_FUNCTION_EVALUATION',
  generic: 'WISP_ERR_CESQL_GENERIC',
});

export interface CesqlErrorOptions {
  /** 1-based position in the expression source of the construct that failed. */
  line: number;
  column: number;
  cause?: unknown;
}

export class CesqlError extends Error {
  readonly code: CesqlErrorCode;
  readonly statusCode = 400;
  readonly retriable = false;
  readonly line: number;
  readonly column: number;

  constructor(
    readonly kind: CesqlErrorKind,
    message: string,
    opts: CesqlErrorOptions,
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = CODE_OF_KIND[kind];
    this.line = opts.line;
    this.column = opts.column;
  }
}

/** Thrown by `parseCesql`; `message` reads like "unexpected ')' at line 1, column 14". */
export class CesqlParseError extends CesqlError {
  declare readonly kind: 'parse';
  constructor(message: string, opts: CesqlErrorOptions) {
    super('parse', message, opts);
  }
}
