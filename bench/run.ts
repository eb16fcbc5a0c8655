import { benchBatch } from './batch';
import { benchBundle } from './bundle';
import { benchChat } from './chat';
import { benchGateway, benchRoundTrips } from './gateway';
import { machine } from './lib';
import { benchModels } from './models';
import { profileGateway } from './profile';
import { benchRefusals } from './refusals';
import { benchWeb } from './web';

/**
 * `npm run bench` (add `-- --quick` for a short run). Everything is measured side by side in one
 * run on this machine and printed as Markdown; docs/benchmarks.md keeps a published copy.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (process.argv.includes('--help')) {
  process.stdout.write(
    [
      'usage: npm run bench [-- options]',
      '  --quick                 short runs (about two minutes for everything)',
      '  --only a,b              some sections: gateway, refusals, bundle, models, chat, batch, web; or trips',
      '                          (the round trips and DynamoDB units, $ and hot items per request',
      '                          alone, also part of gateway: 10 s with --quick, else one whole minute)',
      '  --batch-lines N         lines of the batch run beside online requests in the batch section',
      '                          (default 5,000; 2,000 with --quick)',
      "  --profile               where the API's CPU goes under load (--concurrency N, default 16)",
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const quick = process.argv.includes('--quick');
// `--only gateway,bundle` runs some sections; `--profile` prints where the API's CPU goes under load.
const onlyArg = process.argv[process.argv.indexOf('--only') + 1];
const only = process.argv.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : null;
const want = (name: string) => only === null || only.has(name);
const out: string[] = [
  `## Tollgate benchmarks (${new Date().toISOString().slice(0, 10)})`,
  '',
  `Machine: ${machine()}. Everything (load generator, API, model runtime, DynamoDB Local) shares these cores.`,
  '',
];
if (process.argv.includes('--profile')) {
  out.push(
    await profileGateway({
      seconds: quick ? 8 : 20,
      // `--concurrency 1` profiles one request at a time (the added-latency case); default 16.
      concurrency: Number(
        (process.argv.includes('--concurrency')
          ? process.argv[process.argv.indexOf('--concurrency') + 1]
          : undefined) ??
          process.env.PROFILE_CONCURRENCY ??
          16,
      ),
    }),
  );
} else {
  if (want('gateway')) out.push(await benchGateway({ quick }));
  else if (only?.has('trips')) out.push(await benchRoundTrips({ quick }));
  if (want('refusals')) out.push(await benchRefusals({ quick }));
  if (want('bundle')) out.push(await benchBundle());
  if (want('models')) out.push(await benchModels({ quick }));
  if (want('chat')) out.push(await benchChat({ quick }));
  if (want('batch')) {
    const linesArg = process.argv.includes('--batch-lines')
      ? Number(process.argv[process.argv.indexOf('--batch-lines') + 1])
      : undefined;
    if (linesArg !== undefined && !(Number.isInteger(linesArg) && linesArg >= 1)) {
      process.stderr.write('--batch-lines takes a whole number of lines, at least 1\n');
      process.exit(2);
    }
    out.push(await benchBatch({ quick, ...(linesArg === undefined ? {} : { lines: linesArg }) }));
  }
  if (want('web')) out.push(await benchWeb());
}
process.stdout.write(`${out.join('\n')}\n`);
process.exit(0);
