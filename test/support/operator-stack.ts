import { createStores, type Stores } from '#api/wiring/deps';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';

/** The whole local stack with an operator signed in, and its stores for reading what it wrote. */
export interface OperatorStack {
  stack: LocalStack;
  stores: Stores;
  /** The operator's session token (`Authorization: Bearer`). */
  operatorToken: string;
  close(): Promise<void>;
}

/**
 * Starts the local stack on its own stage (so its own tables) with an operator account, logs the
 * operator in over HTTP, and opens the stack's stores: the setup of the integration tests that
 * act as an operator and then check the tables.
 */
export async function startOperatorStack(
  stage: string,
  operator: { email: string; password: string },
): Promise<OperatorStack> {
  const stack = await startLocalStack(
    loadConfig({
      PORT: '0',
      TOLLGATE_IN_MEMORY: 'true',
      STAGE: stage,
      LOG_LEVEL: 'silent',
      OPERATOR_EMAIL: operator.email,
      OPERATOR_PASSWORD: operator.password,
    }),
    createLogger('silent'),
    { print: () => {} },
  );
  const stores = createStores(stack.config);
  const login = await fetch(`${stack.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(operator),
  });
  const operatorToken = ((await login.json()) as { access_token: string }).access_token;
  return {
    stack,
    stores,
    operatorToken,
    close: async () => {
      stores.dynamo.client.destroy();
      await stack.stop();
    },
  };
}
