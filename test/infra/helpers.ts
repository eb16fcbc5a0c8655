import { Template } from 'aws-cdk-lib/assertions';
import type { Stage } from '../../infra/config';
import { buildApp } from '../../infra/tollgate';

export const testEnv = { account: '123456789012', region: 'us-east-1' } as const;

/** Endpoints on in every stage, on a pinned model server tag (prod refuses `latest`). */
export const testModelServerTag = 'test-0123abc';
export const testOverrides = { models: true, modelServerTag: testModelServerTag } as const;

export interface StageTemplates {
  data: Template;
  api: Template;
  models: Template;
  observability: Template;
  jobs: Template;
  console: Template;
  stacks: ReturnType<typeof buildApp>;
}

const cache = new Map<Stage, StageTemplates>();

/**
 * One synthesized app per stage, shared by the tests of a file, with the model endpoints on in
 * every stage (dev deploys none by default) so both stages' Models stacks are checked. Bundling is
 * off here (CDK skips esbuild but still checks the entry exists); synth.test.ts covers bundling
 * through the real CLI.
 */
export function templates(stage: Stage): StageTemplates {
  let entry = cache.get(stage);
  if (!entry) {
    const stacks = buildApp(stage, { ...testEnv, bundling: false, overrides: testOverrides });
    if (!stacks.models) throw new Error('models: true must create the Models stack');
    entry = {
      data: Template.fromStack(stacks.data),
      api: Template.fromStack(stacks.api),
      models: Template.fromStack(stacks.models),
      observability: Template.fromStack(stacks.observability),
      jobs: Template.fromStack(stacks.jobs),
      console: Template.fromStack(stacks.console),
      stacks,
    };
    cache.set(stage, entry);
  }
  return entry;
}

/** The stacks of an app built by buildApp, present ones only. */
export function allStacks(stacks: ReturnType<typeof buildApp>) {
  return [
    stacks.data,
    stacks.api,
    stacks.jobs,
    stacks.models,
    stacks.observability,
    stacks.console,
    stacks.waf,
  ].filter((stack): stack is NonNullable<typeof stack> => stack !== undefined);
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
export type Cfn = any;

/**
 * Renders a CloudFormation value as a string: `Fn::Join` is joined, `Ref` becomes `${Name}`,
 * `Fn::GetAtt` becomes `${Id.Attr}`, `Fn::ImportValue` becomes `${import:Name}`. Lets tests compare
 * ARNs as text instead of matching nested intrinsics.
 */
export function render(value: Cfn): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'] as [string, Cfn[]];
      return parts.map(render).join(sep);
    }
    if ('Ref' in value) return `\${${value.Ref}}`;
    if ('Fn::GetAtt' in value) return `\${${(value['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::ImportValue' in value) return `\${import:${render(value['Fn::ImportValue'])}}`;
  }
  throw new Error(`Cannot render ${JSON.stringify(value)}`);
}

export function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** Every IAM statement of every AWS::IAM::Policy in a template (and roles' inline policies). */
export function policyStatements(template: Template): Cfn[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).map(
    (policy: Cfn) => policy.Properties.PolicyDocument,
  );
  const inline = Object.values(template.findResources('AWS::IAM::Role')).flatMap((role: Cfn) =>
    (role.Properties.Policies ?? []).map((p: Cfn) => p.PolicyDocument),
  );
  return [...policies, ...inline].flatMap((document: Cfn) => document.Statement as Cfn[]);
}

/** The single resource of a type whose properties match, by logical id. */
export function onlyResource(template: Template, type: string, props?: Cfn): [string, Cfn] {
  const found = Object.entries(template.findResources(type, props ? { Properties: props } : undefined));
  if (found.length !== 1) throw new Error(`Expected one ${type}, found ${found.length}`);
  return found[0]!;
}
