import { buildConsole } from '../../local/web-build';

/** For the e2e project: the console built from the sources under test, once per run. */
export default async function setup() {
  await buildConsole({ force: true, quiet: true });
}
