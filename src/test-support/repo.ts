/** Test helper: the repository root (works from src/ under tsx and from dist/src/ after the build). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (let i = 0; i < 12; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'testdata'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('repository root not found');
}

export function testdataPath(...parts: string[]): string {
  return join(repoRoot(), 'testdata', ...parts);
}
