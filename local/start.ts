import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { DEFAULT_REAL_CHAT, HUB_CHAT_MODELS, installCommand } from './models/chat-models';
import { startLocalStack } from './stack';
import { buildConsole } from './web-build';

/**
 * `npm start`: the whole platform on this machine. Flags: `--in-memory` (throwaway data).
 * Everything else is configured by environment variables (docs/configuration.md lists them all).
 */
const args = new Set(process.argv.slice(2));
if (args.has('--help')) {
  console.log(
    'usage: npm start [-- --in-memory]\nEnvironment: PORT, HOST, DATA_DIR, TOLLGATE_IN_MEMORY, DYNAMODB_ENDPOINT, SAGEMAKER_ENDPOINT, LOG_LEVEL, PUBLIC_URL, OPERATOR_EMAIL, OPERATOR_PASSWORD, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, MODEL_TIMEOUT_MS, MODEL_DOWNLOAD, HF_ENDPOINT, RESERVATION_GRACE_MS, RESERVATION_SWEEP_MS (every one: docs/configuration.md)',
  );
  process.exit(0);
}
// The SDK warns about node 20 on every client; the platform supports node 20 deliberately.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const config = loadConfig({
  ...process.env,
  ...(args.has('--in-memory') ? { TOLLGATE_IN_MEMORY: 'true' } : {}),
});
const log = createLogger(config.LOG_LEVEL);
// The console is served from web/dist: built here when missing or older than its sources.
await buildConsole({ quiet: true }).catch((err: unknown) => {
  process.stderr.write(`The console could not be built (the API still starts): ${String(err)}\n`);
});
// Lines printed while the stack starts (a model download's first progress) wait for the banner.
let held: string[] | null = [];
const print = (text: string) => (held ? held.push(text) : process.stdout.write(text));
const stack = await startLocalStack(config, log, { print, fetchModels: config.MODEL_DOWNLOAD });
const realChat = HUB_CHAT_MODELS[DEFAULT_REAL_CHAT]!;
const chatLine =
  stack.models.chat === DEFAULT_REAL_CHAT
    ? `  Chat           \`chat\` is ${DEFAULT_REAL_CHAT} (${realChat.hubId})`
    : stack.models.fetch
      ? `  Chat           \`chat\` is ${stack.models.chat}, the offline test model (gibberish) until ${realChat.hubId} is fetched (in the background, progress below)`
      : `  Chat           \`chat\` is ${stack.models.chat}, the offline test model (gibberish); for real answers: ${installCommand(realChat)}`;

const lines = [
  '',
  'Tollgate is running.',
  `  Console        ${stack.url}/  (developers; operators log in at the same page)`,
  `  API            ${stack.url}  (health: ${stack.url}/health, reference: ${stack.url}/docs)`,
  `  DynamoDB       ${stack.dynamoEndpoint}  ${stack.dataPath ? `(data in ${stack.dataPath})` : config.DYNAMODB_ENDPOINT ? '(external)' : '(in memory)'}`,
  `  Model runtime  ${stack.runtimeUrl}  (SageMaker Runtime API)`,
  chatLine,
  `  Demo tenant    ${stack.demo.tenantId}`,
  stack.demo.secret
    ? `  Demo API key   ${stack.demo.secret}\n                 (shown once; only its hash is stored)`
    : '  Demo API key   created at first start and shown then; only its hash is stored',
  `  Outbox         ${stack.url}/_local/outbox  (account emails stay on this machine; also printed here)`,
  `                 their links go to ${stack.config.PUBLIC_URL} (PUBLIC_URL)`,
  stack.operator
    ? `  Operator       ${stack.operator.email}${stack.operator.created ? ' (created now)' : ''}`
    : '  Operator       none yet; create one: npm run admin -- create-operator --email <e> --password-stdin',
  stack.billing === 'stripe'
    ? `  Billing        Stripe${config.STRIPE_API_BASE ? ` at ${config.STRIPE_API_BASE}` : ''}; usage sent every ${Math.round(config.BILLING_SYNC_MS / 1000)} s (run \`npm run billing:setup\` once)`
    : '  Billing        ledger-only (no STRIPE_SECRET_KEY): invoices are previewed at GET /account/billing',
  '',
  `Try: curl -s ${stack.url}/v1/text/sentiment -H "Authorization: Bearer $KEY" -H 'content-type: application/json' -d '{"model":"sentiment","input":"I love it"}'`,
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
for (const text of held) process.stdout.write(text);
held = null;

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
