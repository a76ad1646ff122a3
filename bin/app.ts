#!/usr/bin/env node
import { App, Aspects } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { readConfigFile } from '../lib/config-file';
import { SandtrapStack } from '../lib/sandtrap-stack';

/**
 * The CDK app. Configuration comes from the `sandtrap` context key (cdk.json or `-c sandtrap=...`),
 * or from a JSON file (comments allowed) named by `SANDTRAP_CONFIG_FILE`; both are validated with zod at synth time.
 */
const app = new App();
const fromContext = app.node.tryGetContext('sandtrap') as unknown;
const file = process.env.SANDTRAP_CONFIG_FILE;
const config = file ? readConfigFile(file) : typeof fromContext === 'string' ? JSON.parse(fromContext) : fromContext;
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'Sandtrap';
new SandtrapStack(app, stackName, { config, description: 'Sandtrap: analyse untrusted files dropped into S3' });
if (app.node.tryGetContext('nag') !== 'off') Aspects.of(app).add(new cdkNag.AwsSolutionsChecks({ verbose: true }));
