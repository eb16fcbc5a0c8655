import { benchBundle } from './bundle';
import { benchChat } from './chat';
import { benchGateway } from './gateway';
import { machine } from './lib';
import { benchModels } from './models';
import { benchWeb } from './web';

/**
 * `npm run bench` (add `-- --quick` for a short run). Everything is measured side by side in one
 * run on this machine and printed as Markdown; docs/benchmarks.md keeps a published copy.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const quick = process.argv.includes('--quick');
const out: string[] = [
  `## Tollgate benchmarks (${new Date().toISOString().slice(0, 10)})`,
  '',
  `Machine: ${machine()}. Everything (load generator, API, model runtime, DynamoDB Local) shares these cores.`,
  '',
];
out.push(await benchGateway({ quick }));
out.push(await benchBundle());
out.push(await benchModels({ quick }));
out.push(await benchChat({ quick }));
out.push(await benchWeb());
process.stdout.write(`${out.join('\n')}\n`);
process.exit(0);
