/** Stable codes for everything that can go wrong while providing a real Kafka to tests and users. */
export type KafkaSupportErrorCode =
  | 'WISP_ERR_KAFKA_JAVA_MISSING'
  | 'WISP_ERR_KAFKA_JAVA_TOO_OLD'
  | 'WISP_ERR_KAFKA_MVN_MISSING'
  | 'WISP_ERR_KAFKA_RESOLVE_FAILED'
  | 'WISP_ERR_KAFKA_FORMAT_FAILED'
  | 'WISP_ERR_KAFKA_EXITED'
  | 'WISP_ERR_KAFKA_START_TIMEOUT'
  | 'WISP_ERR_KAFKA_PORT_TAKEN'
  | 'WISP_ERR_KAFKA_NOT_PROVIDED'
  | 'WISP_ERR_KAFKA_RUNNING';

export class KafkaSupportError extends Error {
  override readonly name = 'KafkaSupportError';
  readonly code: KafkaSupportErrorCode;

  constructor(code: KafkaSupportErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
  }
}

/** Appended to every "a tool is missing" message: the user's two ways out. */
export const USE_EXISTING_CLUSTER_HINT =
  'or point Wisp at a Kafka you already run with WISP_KAFKA_BROKERS=host:port (comma-separated for several brokers)';
