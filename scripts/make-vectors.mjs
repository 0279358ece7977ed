#!/usr/bin/env node
// Regenerates the golden test vectors in test/vectors/ from their recipes.
// Review the diff of any change: the vectors are the format (docs/FORMAT.md §11).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RECIPES, buildVector } from '../test/vectors/recipes.mjs';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors');
for (const recipe of RECIPES) {
  const bytes = await buildVector(recipe);
  const hex = Buffer.from(bytes)
    .toString('hex')
    .replace(/(.{64})/g, '$1\n')
    .trim();
  writeFileSync(join(dir, `${recipe.name}.hex`), `${hex}\n`);
  console.log(`${recipe.name}: ${bytes.length} bytes`);
}
