import { describe, expect, it } from 'vitest';
import type { KObject } from '../../../src/api/types.js';
import { ReferrerIndex, brokerTargets, memberKey, targetKey, triggerTargets } from '../../../src/control/eventing/referrers.js';

const trigger = (name: string, spec: Record<string, unknown>, ns = 'default'): KObject => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: ns },
  spec,
});

describe('ReferrerIndex', () => {
  it('finds Triggers by broker, subscriber ref and dead-letter ref (namespace defaulted to the Trigger\'s), following changes and deletes', () => {
    const refs = new ReferrerIndex();
    refs.set(
      'trigger:default/a',
      triggerTargets(trigger('a', { broker: 'b1', subscriber: { ref: { kind: 'Service', name: 'display' } }, delivery: { deadLetterSink: { ref: { kind: 'Service', name: 'dlq', namespace: 'ops' } } } })),
    );
    refs.set('trigger:default/b', triggerTargets(trigger('b', { broker: 'b1', subscriber: { uri: 'http://127.0.0.1:9/x' } })));
    refs.set('trigger:other/c', triggerTargets(trigger('c', { broker: 'b1', subscriber: { ref: { kind: 'Service', name: 'display' } } }, 'other')));
    expect(refs.referrers(memberKey('default', 'b1')).sort()).toEqual(['trigger:default/a', 'trigger:default/b']);
    expect(refs.referrers(targetKey('Service', 'default', 'display'))).toEqual(['trigger:default/a']);
    expect(refs.referrers(targetKey('Service', 'other', 'display'))).toEqual(['trigger:other/c']);
    expect(refs.referrers(targetKey('Service', 'ops', 'dlq'))).toEqual(['trigger:default/a']);
    expect(refs.referrers(targetKey('Service', 'default', 'dlq'))).toEqual([]);
    // A Broker named like a Service is another target.
    expect(refs.referrers(targetKey('Broker', 'default', 'display'))).toEqual([]);

    // Changed: the old targets are forgotten.
    refs.set('trigger:default/a', triggerTargets(trigger('a', { broker: 'b2', subscriber: { ref: { kind: 'Broker', name: 'display' } } })));
    expect(refs.referrers(memberKey('default', 'b1'))).toEqual(['trigger:default/b']);
    expect(refs.referrers(memberKey('default', 'b2'))).toEqual(['trigger:default/a']);
    expect(refs.referrers(targetKey('Service', 'default', 'display'))).toEqual([]);
    expect(refs.referrers(targetKey('Broker', 'default', 'display'))).toEqual(['trigger:default/a']);
    expect(refs.referrers(targetKey('Service', 'ops', 'dlq'))).toEqual([]);

    refs.delete('trigger:default/a');
    expect(refs.referrers(memberKey('default', 'b2'))).toEqual([]);
    refs.delete('trigger:default/never');
  });

  it('indexes a Broker by its dead-letter sink only', () => {
    const broker: KObject = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'b', namespace: 'default' }, spec: { delivery: { deadLetterSink: { ref: { kind: 'Service', name: 'dlq' } } } } };
    expect(brokerTargets(broker)).toEqual([targetKey('Service', 'default', 'dlq')]);
    expect(brokerTargets({ ...broker, spec: {} })).toEqual([]);
    expect(triggerTargets(trigger('t', {}))).toEqual([]);
  });
});
