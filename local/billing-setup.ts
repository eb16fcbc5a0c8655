import { existsSync, readFileSync } from 'node:fs';
import { createBillingGateway, createStores } from '../functions/api/wiring/deps';
import { setupBilling } from '../shared/billing/setup';
import { loadConfig } from '../shared/config';
import { localStateFile } from './stack';

/**
 * `npm run billing:setup [-- --aws]`: creates or updates, idempotently, the Stripe Billing Meters,
 * products and metered prices of every callable model version (one per version and unit, priced
 * from the catalog), records them in DynamoDB for Checkout and the meter sync, and adds new prices
 * to existing subscriptions. Needs STRIPE_SECRET_KEY. DynamoDB is found like `npm run admin` finds
 * it: DYNAMODB_ENDPOINT, else the running on-disk stack, else with `--aws` the real one of STAGE.
 */
async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: STRIPE_SECRET_KEY=sk_test_... npm run billing:setup [-- --aws]\n');
    return 0;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const env: Record<string, string | undefined> = { ...process.env };
  if (!env.DYNAMODB_ENDPOINT && !argv.includes('--aws')) {
    const state = localStateFile(env.DATA_DIR || '.data');
    if (!existsSync(state)) {
      process.stderr.write(
        `billing:setup: no running stack found (${state} is missing): start it with \`npm start\`, set DYNAMODB_ENDPOINT, or pass --aws\n`,
      );
      return 2;
    }
    const local = JSON.parse(readFileSync(state, 'utf8')) as { dynamoEndpoint: string; stage: string };
    env.DYNAMODB_ENDPOINT = local.dynamoEndpoint;
    env.STAGE ??= local.stage;
  }
  const config = loadConfig(env);
  if (!config.STRIPE_SECRET_KEY) {
    process.stderr.write('billing:setup: set STRIPE_SECRET_KEY (a test-mode key: sk_test_...)\n');
    return 2;
  }
  const stores = createStores(config);
  try {
    const report = await setupBilling({
      gateway: createBillingGateway(config),
      store: stores.billing,
      catalog: await stores.catalog.load(),
      now: () => new Date(),
    });
    for (const p of report.prices) {
      const what = p.changes.length ? p.changes.join(', ') : 'unchanged';
      process.stdout.write(
        `${p.spec.displayName.padEnd(36)} ${p.spec.unitAmountDecimal} cents/unit  ${p.priceId}  ${what}\n`,
      );
    }
    if (report.subscriptionItems) {
      process.stdout.write(
        `${report.subscriptionItems} subscription item(s) added or moved to a current price\n`,
      );
    }
    for (const problem of report.problems) process.stderr.write(`problem: ${problem}\n`);
    return report.problems.length ? 1 : 0;
  } finally {
    stores.dynamo.client.destroy();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`billing:setup: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
