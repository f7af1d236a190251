/**
 * The environment Knative gives a workload that sends to a sink (ContainerSource's container, a SinkBinding's
 * subject): `K_SINK`, the resolved sink URL, and `K_CE_OVERRIDES` when the source sets `ceOverrides`. Pure.
 */

/** `spec.ceOverrides` of a source (Knative's duckv1.CloudEventOverrides). */
export interface CeOverrides {
  extensions?: Record<string, string>;
}

/** `K_SINK`, and `K_CE_OVERRIDES` (`{"extensions":{...}}`) when overrides are set, as Knative marshals them. */
export function sinkEnv(sinkUri: string, ceOverrides: CeOverrides | undefined): Record<string, string> {
  const env: Record<string, string> = { K_SINK: sinkUri };
  // Knative marshals duckv1.CloudEventOverrides, whose `extensions` is omitempty.
  if (ceOverrides !== undefined) {
    const ext = ceOverrides.extensions;
    env.K_CE_OVERRIDES = JSON.stringify(ext !== undefined && Object.keys(ext).length > 0 ? { extensions: ext } : {});
  }
  return env;
}
