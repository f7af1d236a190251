import { describe, expect, it } from 'vitest';
import { resolveUpOptions } from '../../../src/cli/config.js';
import { UsageError } from '../../../src/cli/errors.js';

describe('WISP_BROKER_MAX_BACKLOG', () => {
  it('sets the platform default backlog limit per Trigger; unset leaves the built-in default', () => {
    expect(resolveUpOptions({}, { WISP_BROKER_MAX_BACKLOG: '50000' }).brokerMaxBacklog).toBe(50_000);
    expect(resolveUpOptions({}, {}).brokerMaxBacklog).toBeUndefined();
  });

  it('rejects anything but an integer from 1 to 100000000, naming the variable', () => {
    for (const bad of ['0', '-1', '1e3', 'lots', '100000001']) {
      expect(() => resolveUpOptions({}, { WISP_BROKER_MAX_BACKLOG: bad })).toThrow(UsageError);
    }
    expect(() => resolveUpOptions({}, { WISP_BROKER_MAX_BACKLOG: 'lots' })).toThrow(/WISP_BROKER_MAX_BACKLOG/);
  });
});
