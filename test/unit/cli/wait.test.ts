import { describe, expect, it } from 'vitest';
import type { KObject } from '../../../src/api/types.js';
import { readyState } from '../../../src/cli/commands/wait.js';

const obj = (kind: string, ready: { status: string; reason?: string; message?: string }, generation = 1, observed = 1): KObject => ({
  apiVersion: kind === 'Service' ? 'serving.knative.dev/v1' : 'sources.knative.dev/v1',
  kind,
  metadata: { name: 'x', namespace: 'default', generation },
  status: { observedGeneration: observed, conditions: [{ type: 'Ready', ...ready }] },
});

describe('apply --wait readiness', () => {
  it('a Service whose Ready is False has failed, with the reason', () => {
    expect(readyState(obj('Service', { status: 'False', reason: 'ExitCode1', message: 'boom' }))).toEqual({ state: 'failed', reason: 'ExitCode1', message: 'boom' });
  });

  it('a source whose Ready is False is still waited for, its reason shown as progress', () => {
    expect(readyState(obj('KafkaSource', { status: 'False', reason: 'KafkaUnreachable', message: 'connect ECONNREFUSED' }))).toEqual({
      state: 'waiting',
      detail: 'KafkaUnreachable: connect ECONNREFUSED',
    });
    expect(readyState(obj('PingSource', { status: 'True' }))).toEqual({ state: 'ready' });
  });

  it('an object whose status predates its spec is waiting, whatever its conditions say', () => {
    expect(readyState(obj('SinkBinding', { status: 'True' }, 2, 1))).toEqual({ state: 'waiting', detail: 'generation 2 not observed yet' });
  });
});
