import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The platform's secrets (session signing keys, Stripe keys) live in one Secrets Manager secret,
 * a JSON object of setting name to value. Lambda entries read it once at cold start and lay it
 * over the environment before the config is parsed, so the secrets never sit in plain
 * environment variables. Without `TOLLGATE_SECRETS_ARN` (locally) the environment is used as is.
 */
export async function environmentWithSecrets(
  env: Record<string, string | undefined>,
): Promise<Record<string, string | undefined>> {
  const arn = env.TOLLGATE_SECRETS_ARN;
  if (!arn) return env;
  const client = new SecretsManagerClient({});
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    const values = JSON.parse(out.SecretString ?? '{}') as Record<string, unknown>;
    const secrets: Record<string, string> = {};
    for (const [name, value] of Object.entries(values)) {
      if (typeof value === 'string' && value !== '') secrets[name] = value;
    }
    return { ...env, ...secrets };
  } finally {
    client.destroy();
  }
}
