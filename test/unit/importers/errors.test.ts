import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WispError } from '../../../src/errors.js';
import { IMPORTER_ERROR_CODES, ScheduleError, SourceDeliveryError, SourceOverloadedError } from '../../../src/importers/index.js';

describe('importer errors', () => {
  it('every code has a sample, a description, a status and a retriable flag', () => {
    const samples = [
      new SourceDeliveryError({ source: 'PingSource a/b', sinkUri: 'http://x/', attempts: 4, why: 'HTTP 503', retriable: true }),
      new SourceOverloadedError({ source: 'PingSource a/b', inFlight: 4 }),
      new ScheduleError('PingSource a/b: cannot evaluate schedule "x"'),
    ];
    for (const e of samples) expect(e).toBeInstanceOf(WispError);
    expect(new Set(samples.map((e) => e.code))).toEqual(new Set(Object.keys(IMPORTER_ERROR_CODES)));
    expect(samples.map((e) => [e.statusCode, e.retriable])).toEqual([
      [502, true],
      [503, true],
      [400, false],
    ]);
    expect(samples[0]?.message).toBe('PingSource a/b: event not delivered to http://x/ after 4 attempt(s): HTTP 503');
  });

  it('every code used in src/importers/errors.ts is documented', () => {
    const src = readFileSync(new URL('../../../src/importers/errors.ts', import.meta.url), 'utf8');
    expect(new Set(src.match(/WISP_ERR_[A-Z_]+/g))).toEqual(new Set(Object.keys(IMPORTER_ERROR_CODES)));
  });
});
