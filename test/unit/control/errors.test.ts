import { describe, expect, it } from 'vitest';
import { API_ERROR_CODES, ManifestError, ServingDefaultsError } from '../../../src/api/errors.js';
import * as errors from '../../../src/control/errors.js';

describe('error codes', () => {
  it('documents every control error code, with a status and a Kubernetes reason', () => {
    const classes = [
      errors.NotFoundError,
      errors.AlreadyExistsError,
      errors.InvalidError,
      errors.BadRequestError,
      errors.MethodNotAllowedError,
      errors.UnsupportedMediaTypeError,
      errors.UnauthorizedError,
      errors.HostNotAllowedError,
    ];
    const made = [
      ...classes.map((C) => new C({ message: 'm' })),
      new errors.StoreCorruptError({ message: 'm', file: 'f' }),
      new errors.TokenFileError({ message: 'm', file: 'f' }),
    ];
    expect(made.map((e) => e.code).sort()).toEqual(Object.keys(errors.CONTROL_ERROR_CODES).sort());
    for (const e of made) {
      expect(e).toBeInstanceOf(errors.ControlError);
      expect(e.code).toMatch(/^WISP_ERR_[A-Z_]+$/);
      expect(e.statusCode).toBeGreaterThanOrEqual(400);
      expect(e.reason).toBeTruthy();
      expect(e.name).toBe(e.constructor.name);
    }
  });

  it('documents the resource layer\'s error codes', () => {
    const made = [new ManifestError({ file: 'f', message: 'm' }), new ServingDefaultsError([{ field: 'data.k', message: 'm' }])];
    expect(Object.keys(API_ERROR_CODES).sort()).toEqual(made.map((e) => e.code).sort());
    for (const e of made) {
      expect(e.statusCode).toBe(400);
      expect(e.name).toBe(e.constructor.name);
    }
  });
});
