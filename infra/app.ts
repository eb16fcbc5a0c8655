/**
 * CDK app entry (cdk.json: `npx tsx infra/app.ts`). Pick the stage with `-c stage=dev|prod`
 * (default in cdk.json); override the target with `-c account=... -c region=...`.
 * Per deploy: `-c models=true|false` (SageMaker endpoints; dev default false, prod true),
 * `-c modelServerTag=<tag>`, `-c alarmEmail=<address>`, `-c publicUrl=https://<console origin>`,
 * `-c webDist=<dir>` (the built console; default web/dist, built by `npm run synth`); `-c nag=true` runs the cdk-nag
 * AwsSolutions checks during synth (the infra tests always do).
 * Synth makes no AWS calls, so it works offline: `CDK_DISABLE_VERSION_CHECK=1 npx cdk synth`.
 */
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseStage, resolveEnv, stageConfig, withOverrides } from './config';
import { addTollgateStacks, appContextDefaults } from './tollgate';

const app = new App({ context: { ...appContextDefaults } });
const stage = parseStage(app.node.tryGetContext('stage') ?? 'dev');
const config = withOverrides(stageConfig(stage), {
  models: app.node.tryGetContext('models'),
  modelServerTag: app.node.tryGetContext('modelServerTag'),
  alarmEmail: app.node.tryGetContext('alarmEmail'),
  publicUrl: app.node.tryGetContext('publicUrl'),
});
const env = resolveEnv(config, {
  account: app.node.tryGetContext('account'),
  region: app.node.tryGetContext('region'),
});
const webDist = app.node.tryGetContext('webDist');
addTollgateStacks(app, config, env, {}, typeof webDist === 'string' ? path.resolve(webDist) : undefined);
// A violation that is not acknowledged (with its reason, beside the resource) stops the synth.
if (String(app.node.tryGetContext('nag')) === 'true') {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}
app.synth();
