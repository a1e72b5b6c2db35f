import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { EbbStack, type EbbStackProps } from '../../infra/ebb-stack';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** cdk.json's context (feature flags and `ebb`), so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;
}

export interface Synthesized {
  readonly stack: EbbStack;
  readonly template: Template;
}

/**
 * An EbbStack without esbuild bundling (`aws:cdk:bundling-stacks: []`), for fast template assertions.
 * `ebb` replaces cdk.json's config when given.
 */
export function synthWithoutBundling(options: { ebb?: unknown; props?: EbbStackProps } = {}): Synthesized {
  process.env.CDK_VALIDATION = 'false';
  const context: Record<string, unknown> = { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] };
  if ('ebb' in options) context.ebb = options.ebb;
  const app = new App({ context });
  const stack = new EbbStack(app, 'Ebb', options.props);
  return { stack, template: Template.fromStack(stack) };
}

/** The CloudFormation logical id of a construct's default resource. */
export function logicalId(construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!resource) throw new Error(`${construct.node.path} has no default child`);
  return Stack.of(construct).getLogicalId(resource as CfnElement);
}

export type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] }>;

export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}
