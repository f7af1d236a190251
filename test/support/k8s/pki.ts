/**
 * The control plane's keys and certificates: a CA, the API server's serving certificate signed by it (so kubectl
 * and client-node verify TLS), and the RSA key pair that signs ServiceAccount tokens. Keys come from node:crypto;
 * certificates from `openssl` (node:crypto cannot issue X.509 certificates).
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCommand, type Env } from '../kafka/tools.js';
import { K8sSupportError } from './errors.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface ControlPlanePki {
  dir: string;
  caCert: string;
  caKey: string;
  /** The CA certificate, PEM. */
  caPem: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

export interface MakePkiOptions {
  dir: string;
  /** Subject alternative names of the serving certificate, e.g. `IP:127.0.0.1`, `DNS:localhost`. */
  servingSans: readonly string[];
  env: Env;
}

const OPENSSL_TIMEOUT_MS = 30_000;
const DAYS = '3650';

export async function makePki(opts: MakePkiOptions): Promise<ControlPlanePki> {
  const dir = opts.dir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (f: string): string => join(dir, f);
  const pki: ControlPlanePki = {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    caPem: '',
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };

  const [ca, serving, sa] = await Promise.all([
    generateKeyPairAsync('ec', { namedCurve: 'prime256v1' }),
    generateKeyPairAsync('ec', { namedCurve: 'prime256v1' }),
    generateKeyPairAsync('rsa', { modulusLength: 2048 }),
  ]);
  const pem = (k: { export(o: { type: 'pkcs8' | 'spki'; format: 'pem' }): string | Buffer }, type: 'pkcs8' | 'spki'): string => k.export({ type, format: 'pem' }).toString();
  await writeFile(pki.caKey, pem(ca.privateKey, 'pkcs8'), { mode: 0o600 });
  await writeFile(pki.servingKey, pem(serving.privateKey, 'pkcs8'), { mode: 0o600 });
  await writeFile(pki.serviceAccountKey, pem(sa.privateKey, 'pkcs8'), { mode: 0o600 });
  await writeFile(pki.serviceAccountPub, pem(sa.publicKey, 'spki'));

  await openssl(opts.env, [
    'req', '-x509', '-new', '-key', pki.caKey, '-sha256', '-days', DAYS, '-subj', '/CN=wisp-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    '-out', pki.caCert,
  ]);
  const csr = p('apiserver.csr');
  const ext = p('apiserver.ext');
  await openssl(opts.env, ['req', '-new', '-key', pki.servingKey, '-subj', '/CN=kube-apiserver', '-out', csr]);
  await writeFile(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${opts.servingSans.join(',')}`,
      '',
    ].join('\n'),
  );
  await openssl(opts.env, [
    'x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', DAYS, '-sha256', '-extfile', ext, '-out', pki.servingCert,
  ]);
  pki.caPem = await readFile(pki.caCert, 'utf8');
  return pki;
}

async function openssl(env: Env, args: string[]): Promise<void> {
  let res;
  try {
    res = await runCommand('openssl', args, { env, timeoutMs: OPENSSL_TIMEOUT_MS });
  } catch (err) {
    throw new K8sSupportError(
      'WISP_ERR_K8S_OPENSSL_FAILED',
      `Cannot make the control plane's certificates: \`openssl\` could not be run (${err instanceof Error ? err.message : String(err)}); install it (Debian/Ubuntu: \`apt-get install openssl\`)`,
      { cause: err },
    );
  }
  if (res.code !== 0) {
    throw new K8sSupportError('WISP_ERR_K8S_OPENSSL_FAILED', `\`openssl ${args.join(' ')}\` failed (exit ${String(res.code ?? res.signal)}):\n${res.output}`);
  }
}
