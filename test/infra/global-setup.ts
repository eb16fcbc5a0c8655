import { buildConsole } from '../../local/web-build';

/** The Console stack uploads web/dist: build it from the sources under test when it is stale. */
export default async function setup() {
  await buildConsole({ quiet: true });
}
