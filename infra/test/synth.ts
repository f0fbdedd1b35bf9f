/**
 * Test helper: the stack synthesized once per configuration, with the repository's real handler
 * sources bundled by the local esbuild (offline, no Docker) unless a test asks to skip bundling.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import { readConfig } from '../lib/config.js';
import { StorepulseStack } from '../lib/stack.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Synth {
  stack: StorepulseStack;
  template: Template;
  outdir: string;
}

/** The context of infra/cdk.json, so the tests build what `cdk synth` builds. */
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'infra', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

const outdirs: string[] = [];

/** Removes the cloud assemblies synth() wrote (call it in afterAll). */
export function removeOutdirs(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Synthesizes with these context values; `bundle: false` skips esbuild (for variants that do not test code). */
export function synth(context: Record<string, string | number> = {}, bundle = true): Synth {
  const outdir = mkdtempSync(path.join(tmpdir(), 'storepulse-cdk-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    context: { ...CDK_JSON_CONTEXT, ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const stack = new StorepulseStack(app, 'Test', {
    env: { account: '123456789012', region: 'eu-west-1' },
    config: readConfig((key) => ({ ...CDK_JSON_CONTEXT, ...context })[key]),
    repoRoot: REPO_ROOT,
  });
  return { stack, template: Template.fromStack(stack), outdir };
}

/** Every resource of a type: logical id → properties. */
export function resources(template: Template, type: string): Record<string, Record<string, unknown>> {
  const found = template.findResources(type) as Record<string, { Properties?: Record<string, unknown> }>;
  return Object.fromEntries(Object.entries(found).map(([id, r]) => [id, r.Properties ?? {}]));
}

/** The logical id of the one resource of a type whose properties include these. */
export function logicalId(template: Template, type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  if (ids.length !== 1) throw new Error(`${ids.length} ${type} match ${JSON.stringify(props)}`);
  return ids[0]!;
}
