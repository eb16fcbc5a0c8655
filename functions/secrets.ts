import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The platform's secrets live in Secrets Manager, each secret a JSON object of setting name to
 * value: the platform secret (session signing keys) and the Stripe secret (Stripe's keys), so a
 * function can be given one without the other. `TOLLGATE_SECRETS_ARN` names the ones a function
 * reads, comma-separated. Lambda entries read them once at cold start and lay them over the
 * environment before the config is parsed, so the secrets never sit in plain environment
 * variables. Without `TOLLGATE_SECRETS_ARN` (locally, or a function that holds none) the
 * environment is used as is.
 */
export async function environmentWithSecrets(
  env: Record<string, string | undefined>,
): Promise<Record<string, string | undefined>> {
  const arns = (env.TOLLGATE_SECRETS_ARN ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter(Boolean);
  if (arns.length === 0) return env;
  const client = new SecretsManagerClient({});
  try {
    const outs = await Promise.all(
      arns.map((arn) => client.send(new GetSecretValueCommand({ SecretId: arn }))),
    );
    const secrets: Record<string, string> = {};
    for (const out of outs) {
      const values = JSON.parse(out.SecretString ?? '{}') as Record<string, unknown>;
      for (const [name, value] of Object.entries(values)) {
        if (typeof value === 'string' && value !== '') secrets[name] = value;
      }
    }
    return { ...env, ...secrets };
  } finally {
    client.destroy();
  }
}
