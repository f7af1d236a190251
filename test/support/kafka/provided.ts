/** What the `kafka` vitest project's globalSetup hands to test workers via provide/inject. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap address of the Kafka for this run (the one started by global-setup, or WISP_KAFKA_BROKERS). */
    kafkaBrokers: string;
  }
}

export {};
