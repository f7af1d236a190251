/**
 * `npm run crds`: writes the CustomResourceDefinitions of src/api/crd.ts into manifests/crds/ (one file per CRD) and
 * removes generated files of kinds that no longer exist. Files without the generated header are left alone.
 * Run from the repository root (npm does that); `node dist/test/support/crds/gen.js [dir]` writes elsewhere.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CRD_FILE_HEADER, crdFiles } from '../../../src/api/crd.js';

function main(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const files = crdFiles();
  const wanted = new Set(files.map((f) => f.name));
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.yaml') || wanted.has(name)) continue;
    const path = join(dir, name);
    if (readFileSync(path, 'utf8').startsWith(CRD_FILE_HEADER)) {
      rmSync(path);
      console.log(`removed ${path}`);
    }
  }
  for (const f of files) {
    const path = join(dir, f.name);
    let old: string | undefined;
    try {
      old = readFileSync(path, 'utf8');
    } catch {
      old = undefined;
    }
    if (old === f.text) continue;
    writeFileSync(path, f.text);
    console.log(`wrote ${path}`);
  }
  console.log(`${files.length} CRDs in ${dir}`);
}

main(resolve(process.argv[2] ?? 'manifests/crds'));
