/** The calico-ts checkout a module belongs to: for programs that run the repository's scripts and built files. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CalicoError } from '../lib/errors.js';

/** The calico-ts checkout this module belongs to (works from src/ under tsx and from dist/src/). */
export function repoRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'calico-ts')
      return dir;
    dir = dirname(dir);
  }
  throw new CalicoError('CALICO_ERR_IO', 'calico-ts repository root not found');
}
