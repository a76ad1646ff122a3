import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventJsonSchemas } from '../lambdas/core/contracts/events';

// Regenerates the committed JSON Schemas from the zod schemas (npm run schema).
for (const [name, schema] of Object.entries(eventJsonSchemas())) {
  const path = fileURLToPath(new URL(`../schemas/${name}`, import.meta.url));
  writeFileSync(path, `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`wrote schemas/${name}\n`);
}
