/** Typed errors of the local process runtime. Codes are stable; see `ERROR_CODES` for the list. */
import { WispError, type WispErrorOptions } from '../../errors.js';

export type LocalRuntimeErrorOptions = WispErrorOptions;

export abstract class LocalRuntimeError extends WispError<string> {}

/** A container with only an image: the local runtime runs processes, not images. */
export class ImageNotRunnableLocallyError extends LocalRuntimeError {
  readonly code = 'WISP_ERR_IMAGE_NOT_RUNNABLE_LOCALLY';
  readonly statusCode = 422;
  readonly retriable = false;
  /** The RevisionFailure reason this error becomes. */
  readonly reason = 'ImageNotRunnableLocally';

  constructor(containerName: string, image: string) {
    super(
      `container "${containerName}" has only an image ("${image}"); the local runtime runs processes: ` +
        'add command (and args) to run it locally, or use the Kubernetes runtime',
    );
  }
}

/** `args` without `command` (or neither): locally there is no image entrypoint to pass args to. */
export class CommandRequiredError extends LocalRuntimeError {
  readonly code = 'WISP_ERR_COMMAND_REQUIRED';
  readonly statusCode = 422;
  readonly retriable = false;
  readonly reason = 'CommandRequired';

  constructor(containerName: string, detail: string) {
    super(`container "${containerName}": ${detail}; the local runtime needs command (the program to run)`);
  }
}

/** A replica moved between lifecycle states in a way the state machine forbids (a bug, never user input). */
export class InvalidReplicaTransitionError extends LocalRuntimeError {
  readonly code = 'WISP_ERR_INVALID_REPLICA_TRANSITION';
  readonly statusCode = 500;
  readonly retriable = false;

  constructor(replica: string, from: string, to: string) {
    super(`replica ${replica}: invalid transition ${from} -> ${to}`);
  }
}

/** deploy() or scale() after close(). */
export class RuntimeClosedError extends LocalRuntimeError {
  readonly code = 'WISP_ERR_RUNTIME_CLOSED';
  readonly statusCode = 503;
  readonly retriable = false;

  constructor(op: string) {
    super(`local runtime: ${op} after close()`);
  }
}

/** `<stateDir>/replicas.json` exists but cannot be parsed; orphan reaping is skipped for it. */
export class StateFileError extends LocalRuntimeError {
  readonly code = 'WISP_ERR_RUNTIME_STATE_FILE';
  readonly statusCode = 500;
  readonly retriable = false;

  constructor(path: string, why: string, opts: LocalRuntimeErrorOptions = {}) {
    super(`${path}: ${why}`, opts);
  }
}

export const ERROR_CODES = {
  WISP_ERR_IMAGE_NOT_RUNNABLE_LOCALLY: 'A container has only an image; add command (and args) or use the Kubernetes runtime.',
  WISP_ERR_COMMAND_REQUIRED: 'A container sets args (or nothing) without command; the local runtime needs command.',
  WISP_ERR_INVALID_REPLICA_TRANSITION: 'Internal: a replica lifecycle transition the state machine forbids.',
  WISP_ERR_RUNTIME_CLOSED: 'The runtime was used after close().',
  WISP_ERR_RUNTIME_STATE_FILE: 'The replicas state file could not be read or parsed.',
} as const;
