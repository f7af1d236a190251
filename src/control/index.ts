/** Public surface of the control plane: the store, admission, the control API and their errors. */
export type { ApplyResult, StoreOptions, WatchEvent, WatchEventType } from './store.js';
export { Store } from './store.js';
export { STORE_FILE_NAME, storeFilePath } from './store-file.js';
export type { AdmissionReader } from './admission.js';
export { admit } from './admission.js';
export type { ApiServerOptions, KubeStatus, LogSource } from './api-server.js';
export { buildApiServer, controlApiPlugin } from './api-server.js';
export type { ControlErrorOptions, StatusReason } from './errors.js';
export {
  AlreadyExistsError,
  BadRequestError,
  CONTROL_ERROR_CODES,
  ControlError,
  InvalidError,
  MethodNotAllowedError,
  NotFoundError,
  StoreCorruptError,
  UnsupportedMediaTypeError,
  UnauthorizedError,
  HostNotAllowedError,
  TokenFileError,
} from './errors.js';
export { checkBearer, isLoopbackBindAddress, isLoopbackHost, UNAUTHENTICATED_PATHS } from './auth.js';
export type { BearerCheck } from './auth.js';
export { ensureToken, newToken, TOKEN_FILE_NAME, tokenFilePath } from './token.js';
export type { PlatformToken } from './token.js';
export { collapseWarnings, MAX_WARNINGS, SERVER_SET_METADATA } from './apply.js';
