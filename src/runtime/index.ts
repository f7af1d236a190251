export type {
  LogLine,
  ReplicaEndpoint,
  RevisionFailure,
  RevisionRuntimeStatus,
  RevisionWorkload,
  WorkloadRuntime,
  WorkloadScaler,
} from './types.js';
export { LocalRuntime } from './local/runtime.js';
export type { LocalRuntimeLogger, LocalRuntimeOptions, ReplicaInfo } from './local/runtime.js';
export {
  CommandRequiredError,
  ERROR_CODES as LOCAL_RUNTIME_ERROR_CODES,
  ImageNotRunnableLocallyError,
  InvalidReplicaTransitionError,
  LocalRuntimeError,
  RuntimeClosedError,
  StateFileError,
} from './local/errors.js';
export * from './kubernetes/index.js';
