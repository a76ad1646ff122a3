// The consumer app of test/package/package.test.ts, copied into an app directory outside the
// repository, where `sandtrap` and `cdk-nag` are whatever that app installed. Plain JavaScript, as an
// app that only installs the package would have it. Usage: node synth-app.mjs <cases.json> <outdir>
// where cases.json is [{ "name": ..., "props": SandtrapStackProps as JSON, "embed"?: {...} }]. A case
// with `embed` builds the `Sandtrap` construct into a stack of the app's own instead, with the app's
// bus (`eventBusArn`) and imported buckets (`sources`: bucketName, kmsKeyArn, and SourceOptions).
// Prints, per case, the cdk-nag findings, every IAM statement (action, resource), per Lambda function
// its runtime and the files of its code asset, and per Docker image asset the files of its build context.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import cdkNag from 'cdk-nag';
import { Sandtrap, SandtrapStack } from 'sandtrap';

const [casesFile, outRoot] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));

/** Files under `dir`, relative, `/`-separated. */
function files(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

const results = cases.map(({ name, props, embed }) => {
  const outdir = join(outRoot, name.replace(/[^\w-]/g, '-'));
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  let stack;
  if (embed) {
    stack = new Stack(app, 'SecurityTooling', { env: { account: '123456789012', region: 'us-east-1' } });
    new Sandtrap(stack, 'Scanner', {
      ...props,
      eventBus: events.EventBus.fromEventBusArn(stack, 'Bus', embed.eventBusArn),
      sources: embed.sources.map(({ bucketName, kmsKeyArn, ...options }) => ({
        bucket: s3.Bucket.fromBucketName(stack, `Source-${bucketName}`, bucketName),
        ...(kmsKeyArn ? { encryptionKey: kms.Key.fromKeyArn(stack, `Key-${bucketName}`, kmsKeyArn) } : {}),
        ...options,
      })),
    });
  } else stack = new SandtrapStack(app, 'Sandtrap', props);
  Aspects.of(app).add(new cdkNag.AwsSolutionsChecks({ verbose: true }));
  const assembly = app.synth();
  const artifact = assembly.getStackArtifact(stack.artifactId);
  const findings = artifact.messages
    .filter((m) => (m.level === 'error' || m.level === 'warning') && /^AwsSolutions-/.test(String(m.entry.data)))
    .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
  const functions = Object.entries(artifact.template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function' || r.Type === 'AWS::Lambda::LayerVersion')
    .map(([id, r]) => {
      const assetPath = r.Metadata?.['aws:asset:path'];
      return {
        id,
        type: r.Type,
        runtime: r.Properties.Runtime,
        handler: r.Properties.Handler,
        files: assetPath ? files(join(outdir, assetPath)) : null,
      };
    });
  // The Docker image assets' build contexts, as staged from the installed package's directory.
  const assets = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
  const images = Object.values(assets.dockerImages ?? {}).map((image) => ({
    dockerFile: image.source.dockerFile,
    files: files(join(outdir, image.source.directory)),
  }));
  const statements = Object.values(artifact.template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => r.Properties.PolicyDocument.Statement)
    .map((st) => ({ actions: [st.Action].flat(), resource: JSON.stringify(st.Resource) }));
  return { name, findings, statements, functions, images };
});
process.stdout.write(`${JSON.stringify(results)}\n`);
