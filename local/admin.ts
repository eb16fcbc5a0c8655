import { existsSync, readFileSync } from 'node:fs';
import { createStores } from '../functions/api/wiring/deps';
import { createOperator } from '../shared/accounts/operators';
import { issueApiKey } from '../shared/auth/issue-api-key';
import { generateSigningJwk } from '../shared/auth/sessions/signing-keys';
import { loadConfig } from '../shared/config';
import { type CreditKind, creditKinds } from '../shared/credits/burn-order';
import type { CreditStore } from '../shared/credits/credit-store';
import { tableNames } from '../shared/db/tables';
import { isId } from '../shared/ids';
import { formatUsd, usdToNano } from '../shared/metering/pricing';
import { reconcileMonth } from '../shared/metering/reconcile';
import { repairMonth } from '../shared/metering/repair';
import { seedCatalogIfAbsent } from './seed';
import { localStateFile } from './stack';

/**
 * `npm run admin -- <command>`: platform administration from a shell. It talks to DynamoDB
 * directly: DYNAMODB_ENDPOINT if set, else the running on-disk stack (found through
 * `${DATA_DIR}/local.json`), else, with `--aws`, the real DynamoDB of STAGE.
 */
const USAGE = `usage: npm run admin -- <command> [options]

  create-operator --email <address> [--password <pw> | --password-stdin]
      Creates a platform operator (or reads OPERATOR_PASSWORD). Operators log in at POST /auth/login.
  create-key --tenant <ten_...> [--name <name>]
      Makes an API key for a tenant and prints its secret (once; only the hash is stored).
  seed
      Writes the seed catalog (shared/catalog/seed.ts) and the default plans into STAGE's tables,
      never overwriting operators' changes. npm start does this locally; run it once after a deploy.
  gen-jwks
      Prints a new ES256 JWK set for JWT_PRIVATE_JWKS (the cloud's session signing keys).
  reconcile --tenant <ten_...> --month <YYYY-MM> [--repair]
      Recomputes the tenant's aggregates for the month from its usage events (the ledger) and
      prints every difference; exits 1 when there is one, 0 when the aggregates agree to the unit.
      With --repair, sets each aggregate that differs to what the ledger says (each on the
      condition that it has not changed since it was read; the operators' totals move with it),
      then reconciles again: exits 0 when they now agree, 1 when one changed meanwhile (run again).

  audit move-tenant-entries
      Moves audit entries about a tenant written before tenants had their own trail (in a month's
      partition) into the tenant's trail, each atomically; safe to run again. Run once after a deploy.

  credits grant --tenant <ten_...> --amount <usd> --kind <paid|promotional|trial> --expires <ISO time> [--note <text>]
      Grants credit to a tenant (audited), as POST /admin/tenants/{id}/credits does, and prints the grant.
  credits mode --tenant <ten_...> --to <prepaid|postpaid>
      Switches a tenant to prepaid (admitted against its balance, 429 insufficient_balance at zero) or back.
  credits show --tenant <ten_...>
      Brings the tenant's credit ledger up to date and prints its balance by kind and its grants.

  --aws   use AWS's DynamoDB for STAGE (credentials from the environment) instead of a local one.
`;

function parse(argv: string[]): { command: string | undefined; flags: Map<string, string | true> } {
  const [command, ...rest] = argv;
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const next = rest[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags.set(arg.slice(2), next);
      i++;
    } else flags.set(arg.slice(2), true);
  }
  return { command, flags };
}

class UsageError extends Error {
  override name = 'UsageError';
}

function text(flags: Map<string, string | true>, name: string): string | undefined {
  const v = flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function configFor(flags: Map<string, string | true>) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const env: Record<string, string | undefined> = { ...process.env };
  if (!env.DYNAMODB_ENDPOINT && !flags.has('aws')) {
    const state = localStateFile(env.DATA_DIR || '.data');
    if (!existsSync(state)) {
      throw new UsageError(
        `no running stack found (${state} is missing): start it with \`npm start\`, or set DYNAMODB_ENDPOINT, or pass --aws`,
      );
    }
    const local = JSON.parse(readFileSync(state, 'utf8')) as { dynamoEndpoint: string; stage: string };
    env.DYNAMODB_ENDPOINT = local.dynamoEndpoint;
    env.STAGE ??= local.stage;
  }
  return loadConfig(env);
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'credits' && argv[1] && !argv[1].startsWith('--')) {
    const { flags } = parse(['credits', ...argv.slice(2)]);
    return credits(argv[1], flags);
  }
  // `audit move-tenant-entries [--aws]`: a subcommand, like credits'.
  const { command, flags } = parse(
    argv[0] === 'audit' && argv[1] === 'move-tenant-entries'
      ? ['audit-move-tenant-entries', ...argv.slice(2)]
      : argv,
  );
  if (!command || command === 'help' || command === '--help' || flags.has('help')) {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'gen-jwks') {
    process.stdout.write(`${JSON.stringify({ keys: [await generateSigningJwk()] })}\n`);
    return 0;
  }
  if (command === 'seed') {
    const config = configFor(flags);
    const stores = createStores(config);
    try {
      await seedCatalogIfAbsent(stores, config.STAGE);
      process.stdout.write(`${JSON.stringify({ object: 'seed', stage: config.STAGE, status: 'done' })}\n`);
      return 0;
    } finally {
      stores.dynamo.client.destroy();
    }
  }
  if (command === 'create-operator') {
    const email = text(flags, 'email');
    if (!email) throw new UsageError('create-operator needs --email');
    const password = flags.has('password-stdin')
      ? await readStdin()
      : (text(flags, 'password') ?? process.env.OPERATOR_PASSWORD);
    if (!password)
      throw new UsageError('create-operator needs --password, --password-stdin or OPERATOR_PASSWORD');
    const stores = createStores(configFor(flags));
    try {
      const result = await createOperator(
        { operators: stores.operators, audit: stores.audit, now: () => new Date() },
        { email, password, actor: { kind: 'system', id: 'cli' } },
      );
      if (result.status === 'invalid') throw new UsageError(result.message);
      if (result.status === 'email_taken') {
        process.stderr.write(`${email} already has an account (operator or user); nothing changed.\n`);
        return 1;
      }
      process.stdout.write(
        `${JSON.stringify({ object: 'operator', id: result.operator.id, email: result.operator.email })}\n`,
      );
      return 0;
    } finally {
      stores.dynamo.client.destroy();
    }
  }
  if (command === 'create-key') {
    const tenantId = text(flags, 'tenant');
    if (!tenantId || !isId(tenantId, 'ten')) throw new UsageError('create-key needs --tenant ten_...');
    const stores = createStores(configFor(flags));
    try {
      const tenant = await stores.tenants.get(tenantId);
      if (!tenant) {
        process.stderr.write(`no tenant ${tenantId}\n`);
        return 1;
      }
      const { key, secret } = await issueApiKey(stores.apiKeys, {
        tenantId,
        name: text(flags, 'name') ?? 'cli',
      });
      const now = new Date();
      await stores.audit.append(
        stores.audit.entry(
          {
            actor: { kind: 'system', id: 'cli' },
            action: 'api_key.create',
            target: { type: 'api_key', id: key.id, tenantId },
            before: null,
            after: { name: key.name, prefix: key.visiblePrefix },
            requestId: null,
          },
          now,
        ),
      );
      process.stdout.write(
        `${JSON.stringify({ object: 'api_key', id: key.id, tenant_id: tenantId, secret })}\n`,
      );
      return 0;
    } finally {
      stores.dynamo.client.destroy();
    }
  }
  if (command === 'audit') throw new UsageError('audit needs a subcommand: move-tenant-entries');
  if (command === 'audit-move-tenant-entries') {
    const config = configFor(flags);
    const stores = createStores(config);
    try {
      const out = await stores.audit.moveTenantEntries();
      process.stdout.write(`${JSON.stringify({ object: 'audit_move', ...out })}\n`);
      return 0;
    } finally {
      stores.dynamo.client.destroy();
    }
  }
  if (command === 'reconcile') {
    const tenantId = text(flags, 'tenant');
    const month = text(flags, 'month');
    if (!tenantId || !isId(tenantId, 'ten')) throw new UsageError('reconcile needs --tenant ten_...');
    if (!month || !/^\d{4}-(0[1-9]|1[0-2])$/.test(month))
      throw new UsageError('reconcile needs --month YYYY-MM');
    const config = configFor(flags);
    const stores = createStores(config);
    try {
      let result = await reconcileMonth(stores.usage, tenantId, month, stores.platformUsage);
      process.stdout.write(`${JSON.stringify({ object: 'reconciliation', ...result })}\n`);
      if (flags.has('repair') && result.differences.length > 0) {
        const repair = await repairMonth(stores.dynamo.doc, tableNames(config.STAGE), result);
        process.stdout.write(`${JSON.stringify({ object: 'repair', ...repair })}\n`);
        result = await reconcileMonth(stores.usage, tenantId, month, stores.platformUsage);
        process.stdout.write(`${JSON.stringify({ object: 'reconciliation', ...result })}\n`);
      }
      if (result.differences.length > 0) {
        process.stderr.write(
          `${result.differences.length} difference(s) between the ledger and the aggregates of ${tenantId} in ${month}.\n`,
        );
        return 1;
      }
      return 0;
    } finally {
      stores.dynamo.client.destroy();
    }
  }
  throw new UsageError(`unknown command '${command}'`);
}

/** `credits grant|mode|show`: a tenant's prepaid credit, as the operators' routes handle it. */
async function credits(sub: string, flags: Map<string, string | true>): Promise<number> {
  const tenantId = text(flags, 'tenant');
  if (!tenantId || !isId(tenantId, 'ten')) throw new UsageError(`credits ${sub} needs --tenant ten_...`);
  const actor = { kind: 'system' as const, id: 'cli' };
  const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  if (!['grant', 'mode', 'show'].includes(sub)) throw new UsageError(`unknown credits command '${sub}'`);
  let grant: Parameters<CreditStore['grant']>[0] | undefined;
  if (sub === 'grant') {
    const amount = usdToNano(text(flags, 'amount') ?? '');
    if (amount === null || amount <= 0) throw new UsageError('credits grant needs --amount <USD above 0>');
    const kind = text(flags, 'kind') as CreditKind | undefined;
    if (!kind || !creditKinds.includes(kind))
      throw new UsageError('credits grant needs --kind paid|promotional|trial');
    const expires = new Date(text(flags, 'expires') ?? '');
    if (Number.isNaN(expires.getTime()) || expires.getTime() <= Date.now())
      throw new UsageError('credits grant needs --expires <an ISO time in the future>');
    grant = {
      tenantId,
      kind,
      amountNanoUsd: amount,
      expiresAt: expires.toISOString(),
      note: text(flags, 'note') ?? null,
      actor,
      requestId: null,
    };
  }
  const to = text(flags, 'to');
  if (sub === 'mode' && to !== 'prepaid' && to !== 'postpaid')
    throw new UsageError('credits mode needs --to prepaid|postpaid');
  const stores = createStores(configFor(flags));
  const store = stores.quotas.credits;
  try {
    if (grant) {
      const out = await store.grant(grant, new Date());
      if (out.status === 'not_found') {
        process.stderr.write(`no tenant ${tenantId}; nothing changed.\n`);
        return 1;
      }
      print({ object: 'credit_grant', ...out.grant, amount_usd: formatUsd(out.grant.amountNanoUsd) });
      return 0;
    }
    if (sub === 'mode') {
      const out = await store.setBillingMode(
        { tenantId, mode: to as 'prepaid' | 'postpaid', actor, requestId: null },
        new Date(),
      );
      if (out === 'not_found') {
        process.stderr.write(`no tenant ${tenantId}\n`);
        return 1;
      }
      print({ object: 'billing_mode', tenant_id: tenantId, billing_mode: to, status: out });
      return 0;
    }
    if (!(await stores.tenants.get(tenantId))) {
      process.stderr.write(`no tenant ${tenantId}\n`);
      return 1;
    }
    const s = await store.statement(tenantId, new Date());
    print({
      object: 'credits',
      tenant_id: tenantId,
      balance_usd: formatUsd(s.balanceNanoUsd),
      available_usd: formatUsd(s.balance?.availableNanoUsd ?? 0),
      by_kind: Object.fromEntries(Object.entries(s.byKind).map(([k, v]) => [k, formatUsd(v)])),
      grants: s.grants.map((g) => ({
        id: g.id,
        kind: g.kind,
        status: g.status,
        left_usd: formatUsd(s.left.get(g.id) ?? 0),
        expires_at: g.expiresAt,
      })),
    });
    return 0;
  } finally {
    stores.dynamo.client.destroy();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`admin: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`admin: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
