import { WispError } from '../../errors.js';

export type ServeEngineErrorCode = 'WISP_ERR_SERVE_ENGINE_MODE' | 'WISP_ERR_SERVE_ENGINE_BINARY' | 'WISP_ERR_SERVE_ENGINE_START' | 'WISP_ERR_SERVE_ENGINE_COMMAND';

/** Every code of the serve engine, documented (what it means, what to do). */
export const ERROR_CODES: Readonly<Record<ServeEngineErrorCode, string>> = Object.freeze({
  WISP_ERR_SERVE_ENGINE_MODE: 'the serve engine runs only in embedded mode with component all (one process owns the ingress port and the routing table)',
  WISP_ERR_SERVE_ENGINE_BINARY: 'the haproxy binary was not found or is not executable (install it: apt-get install haproxy, or point WISP_HAPROXY at it)',
  WISP_ERR_SERVE_ENGINE_START: 'haproxy did not start (its own message is included: a port in use, a bad config)',
  WISP_ERR_SERVE_ENGINE_COMMAND: 'a command on haproxy\'s master CLI failed or timed out',
});

abstract class ServeEngineError<C extends ServeEngineErrorCode> extends WispError<C> {}

/** `--serve-engine haproxy` with Kubernetes mode or a split component. */
export class ServeEngineModeError extends ServeEngineError<'WISP_ERR_SERVE_ENGINE_MODE'> {
  readonly code = 'WISP_ERR_SERVE_ENGINE_MODE';
  readonly statusCode = 400;
  readonly retriable = false;
}

/** No usable haproxy binary. */
export class ServeEngineBinaryError extends ServeEngineError<'WISP_ERR_SERVE_ENGINE_BINARY'> {
  readonly code = 'WISP_ERR_SERVE_ENGINE_BINARY';
  readonly statusCode = 500;
  readonly retriable = false;
}

/** haproxy exited or failed its config check at start-up. */
export class ServeEngineStartError extends ServeEngineError<'WISP_ERR_SERVE_ENGINE_START'> {
  readonly code = 'WISP_ERR_SERVE_ENGINE_START';
  readonly statusCode = 500;
  readonly retriable = true;
}

/** A runtime-API command was refused or timed out. */
export class ServeEngineCommandError extends ServeEngineError<'WISP_ERR_SERVE_ENGINE_COMMAND'> {
  readonly code = 'WISP_ERR_SERVE_ENGINE_COMMAND';
  readonly statusCode = 500;
  readonly retriable = true;
}
