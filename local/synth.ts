import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { sandtrapCacheDir } from '../lib/cache-dir';
import type { SandtrapConfigInput } from '../lib/config';
import { SandtrapStack } from '../lib/sandtrap-stack';
import { localPlanOf, type CfnTemplate, type LocalPlan } from './template';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Synthesizes the real `SandtrapStack` in-process, without bundling (the local runtime imports the handlers). */
export function synthesizeTemplate(config: SandtrapConfigInput): CfnTemplate {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
  const stack = new SandtrapStack(app, 'Sandtrap', { config });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

function sourceFingerprint(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) hash.update(relative(ROOT, path)).update(readFileSync(path));
    }
  };
  for (const dir of ['lib', 'lambdas']) walk(join(ROOT, dir));
  // The dependencies' versions: the lock file in a checkout; an installed package ships none, and
  // its manifest (its version, its dependencies' ranges) stands in.
  const lock = join(ROOT, 'package-lock.json');
  hash.update(readFileSync(existsSync(lock) ? lock : join(ROOT, 'package.json')));
  return hash.digest('hex');
}

/**
 * The local plan (definition, functions, buckets, table) of the stack CDK synthesizes for this
 * configuration. Synthesis takes seconds, so the plan is cached by a fingerprint of the CDK and
 * handler sources and of the configuration: a change to either synthesizes again.
 */
export function localPlan(config: SandtrapConfigInput, options: { cache?: boolean } = {}): LocalPlan {
  const key = createHash('sha256')
    .update(sourceFingerprint())
    .update(JSON.stringify(config))
    .digest('hex')
    .slice(0, 24);
  const file = join(sandtrapCacheDir(), `plan-${key}.json`);
  if (options.cache !== false) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as LocalPlan;
    } catch {
      // Not cached yet.
    }
  }
  const plan = localPlanOf(synthesizeTemplate(config));
  if (options.cache !== false) writeFileSync(file, JSON.stringify(plan));
  return plan;
}
