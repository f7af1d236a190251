export { guardHttpServer } from './http-guard.js';
export type { HttpGuard, HttpGuardOptions } from './http-guard.js';
export { ConnectionTable, HTTP_LIMITS_DEFAULTS, resolveHttpLimits } from './http-limits.js';
export type { Admission, HttpLimits, HttpLimitsInput } from './http-limits.js';
export {
  DUPLICATE_HOST,
  MISSING_HOST,
  answerHeaders,
  clientErrorAnswer,
  jsonErrorBody,
  kubernetesStatusBody,
  rawResponse,
  refusalAnswer,
  textErrorBody,
} from './http-answers.js';
export type { Answer, ClientErrorFacts, ErrorBody } from './http-answers.js';
export { CoreError, ERROR_CODES, InvalidHttpLimitsError } from './errors.js';
export { WispError } from './wisp-error.js';
export type { WispErrorOptions } from './wisp-error.js';
export type { CoreErrorCode } from './errors.js';
