/** Unknown-field warnings through the real CLI: 2 000 unknown fields are 20 warnings and a count, and the object is created. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WispProcess } from '../support/wisp.js';
import { HELLO_DIR, yamlFile } from './helpers.js';

describe('apply with many unknown fields (e2e)', () => {
  let wisp: WispProcess;
  beforeAll(async () => {
    wisp = await WispProcess.create();
    await wisp.start();
  }, 60_000);
  afterAll(async () => wisp?.cleanup());

  it('prints 20 warnings and "... and 1980 more unknown fields", and reports the object created', async () => {
    const extra = Array.from({ length: 2000 }, (_, i) => `      unknownField${String(i).padStart(4, '0')}: ${i}`).join('\n');
    const file = await yamlFile(`apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: wide
spec:
  template:
    spec:
${extra}
      containers:
        - command: ["${process.execPath}", "hello.js"]
          workingDir: ${HELLO_DIR}
`);
    const res = await wisp.cli(['apply', '-f', file]);
    expect(res.stdout).toBe('service.serving.knative.dev/wide created\n');
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[0]).toMatch(/^Warning: .*spec\.template\.spec\.unknownField0000/);
    expect(lines[19]).toMatch(/^Warning: .*spec\.template\.spec\.unknownField0019/);
    expect(lines[20]).toBe('Warning: ... and 1980 more unknown fields');
    expect(res.code).toBe(0);
    expect((await wisp.fetch('/apis/serving.knative.dev/v1/namespaces/default/services/wide')).status).toBe(200);

    const again = await wisp.cli(['apply', '-f', file]);
    expect(again).toMatchObject({ code: 0, stdout: 'service.serving.knative.dev/wide unchanged\n' });
  }, 60_000);
});
