/**
 * Errors internal to the Kafka backend (a broken invariant, i.e. a bug). What callers see goes through the
 * broker's typed errors (broker/errors.ts): BackendUnavailableError, BrokerNotFoundError, BackendClosedError.
 */
export class InvalidOffsetError extends Error {
  readonly code = 'WISP_ERR_KAFKA_INVALID_OFFSET' as const;
  readonly retriable = false;
  constructor(readonly partition: number, readonly offset: number, why: string) {
    super(`kafka backend: offset ${offset} of partition ${partition} ${why}`);
    this.name = 'InvalidOffsetError';
  }
}
