/** Public surface of the `wisp` CLI. */
export { main } from './main.js';
export type { CliIo, MainDeps } from './main.js';
export { ControlApiClient, parseWarningHeader } from './client.js';
export type { ClientOptions, PutResult } from './client.js';
export { ApiError, CliError, CLI_ERROR_CODES, TimeoutError, UnauthorizedError, UnreachableError, UsageError } from './errors.js';
export { findToken } from './token.js';
export type { TokenChoice } from './token.js';
export type { CliErrorCode, KStatus } from './errors.js';
export { parseDuration, parsePort, resolveUpOptions } from './config.js';
export type { UpFlags } from './config.js';
export { CLI_DEFAULTS } from './defaults.js';
