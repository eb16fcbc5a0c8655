import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentWithSecrets } from '../../functions/secrets';

/**
 * Secrets Manager's GetSecretValue (JSON 1.1 over HTTP) on loopback, holding two secrets as the
 * Api stack does: the platform's session keys and Stripe's keys, each a JSON object.
 */
const stored: Record<string, string> = {
  'arn:platform': JSON.stringify({ JWT_PRIVATE_JWKS: '[{"kid":"k1"}]', LOG_LEVEL: 'warn' }),
  'arn:stripe': JSON.stringify({
    STRIPE_SECRET_KEY: 'sk_test_x',
    STRIPE_WEBHOOK_SECRET: 'whsec_x',
    EMPTY: '',
  }),
};
const asked: string[] = [];
let server: Server;
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      asked.push(`${req.headers['x-amz-target']} ${SecretId}`);
      const value = stored[SecretId];
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (!value) {
        res.statusCode = 400;
        res.setHeader('x-amzn-errortype', 'ResourceNotFoundException');
        res.end(JSON.stringify({ message: 'no such secret' }));
        return;
      }
      res.end(JSON.stringify({ ARN: SecretId, Name: SecretId, SecretString: value }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
});
afterAll(async () => {
  process.env = saved;
  await new Promise((resolve) => server.close(resolve));
});

describe('environmentWithSecrets', () => {
  it('lays every named secret over the environment, later ones last, and skips empty values', async () => {
    const env = await environmentWithSecrets({
      STAGE: 'x',
      LOG_LEVEL: 'info',
      TOLLGATE_SECRETS_ARN: 'arn:platform, arn:stripe',
    });
    expect(env).toMatchObject({
      STAGE: 'x',
      LOG_LEVEL: 'warn',
      JWT_PRIVATE_JWKS: '[{"kid":"k1"}]',
      STRIPE_SECRET_KEY: 'sk_test_x',
      STRIPE_WEBHOOK_SECRET: 'whsec_x',
    });
    expect(env).not.toHaveProperty('EMPTY');
    expect(asked.sort()).toEqual([
      'secretsmanager.GetSecretValue arn:platform',
      'secretsmanager.GetSecretValue arn:stripe',
    ]);
  });

  it('reads only the secrets a function is given: the console gets no Stripe key', async () => {
    asked.length = 0;
    const env = await environmentWithSecrets({ TOLLGATE_SECRETS_ARN: 'arn:platform' });
    expect(env.JWT_PRIVATE_JWKS).toBeDefined();
    expect(env).not.toHaveProperty('STRIPE_SECRET_KEY');
    expect(asked).toEqual(['secretsmanager.GetSecretValue arn:platform']);
  });

  it('uses the environment as is without any secret, and fails the cold start on a missing one', async () => {
    asked.length = 0;
    const plain = { STAGE: 'y' };
    expect(await environmentWithSecrets(plain)).toBe(plain);
    expect(await environmentWithSecrets({ TOLLGATE_SECRETS_ARN: ' , ' })).toEqual({
      TOLLGATE_SECRETS_ARN: ' , ',
    });
    expect(asked).toEqual([]);
    await expect(environmentWithSecrets({ TOLLGATE_SECRETS_ARN: 'arn:platform,arn:gone' })).rejects.toThrow(
      /no such secret/,
    );
  });
});
