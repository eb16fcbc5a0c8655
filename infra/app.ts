/**
 * CDK app entry (cdk.json: `npx tsx infra/app.ts`). Pick the stage with `-c stage=dev|prod`
 * (default in cdk.json); override the target with `-c account=... -c region=...`.
 * Synth makes no AWS calls, so it works offline: `CDK_DISABLE_VERSION_CHECK=1 npx cdk synth`.
 */
import { App } from 'aws-cdk-lib';
import { parseStage, resolveEnv, stageConfig } from './config';
import { addTollgateStacks, appContextDefaults } from './tollgate';

const app = new App({ context: { ...appContextDefaults } });
const stage = parseStage(app.node.tryGetContext('stage') ?? 'dev');
const config = stageConfig(stage);
const env = resolveEnv(config, {
  account: app.node.tryGetContext('account'),
  region: app.node.tryGetContext('region'),
});
addTollgateStacks(app, config, env);
app.synth();
