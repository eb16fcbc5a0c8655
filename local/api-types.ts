import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { apiDocument } from '../functions/api/planes/docs';

/**
 * The console's API types, generated from the API's own OpenAPI document (the zod schemas of the
 * routes, as /openapi.json serves them) by openapi-typescript: web/src/lib/api-types.ts. The
 * console names them through web/src/lib/types.ts. test/unit/api-types.test.ts fails when the
 * file is stale, so a change to a route's schemas comes with the regenerated file.
 */

export const API_TYPES_FILE = resolve(import.meta.dirname, '../web/src/lib/api-types.ts');

const HEADER = `/**
 * Generated from the API's OpenAPI document by \`npm run api-types\` (local/api-types.ts): do not
 * edit. The console names these types through ./types.ts.
 */

`;

/** The file's contents, from the document the routes describe now (or `document`). */
export async function generateApiTypes(document: object = apiDocument()): Promise<string> {
  const ast = await openapiTS(document as Parameters<typeof openapiTS>[0]);
  return HEADER + astToString(ast);
}

const USAGE = `usage: npm run api-types [-- --check]

  Writes web/src/lib/api-types.ts, the console's API types, from the API's OpenAPI document.
  --check   writes nothing; exits 1 when the file is not what the routes generate now.
`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument '${unknown[0]}'\n${USAGE}`);
    return 2;
  }
  const generated = await generateApiTypes();
  const file = relative(process.cwd(), API_TYPES_FILE);
  if (argv.includes('--check')) {
    const current = readFileSync(API_TYPES_FILE, 'utf8');
    if (current === generated) return 0;
    process.stderr.write(`${file} is stale: run npm run api-types\n`);
    return 1;
  }
  writeFileSync(API_TYPES_FILE, generated);
  process.stdout.write(`wrote ${file}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
