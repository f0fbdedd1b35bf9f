/**
 * The CDK app: `npm run cdk:synth` at the repository root, `npx cdk deploy` in infra/ (docs/aws.md).
 * The region comes from `-c region=…`, else the AWS environment (CDK_DEFAULT_REGION), else us-east-1;
 * the account from the credentials in use (synth needs none: the template is account-agnostic).
 */
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib/core';
import { readConfig } from '../lib/config.js';
import { StorepulseStack } from '../lib/stack.js';

const app = new App();
const region =
  (app.node.tryGetContext('region') as string | undefined) ?? process.env.CDK_DEFAULT_REGION ?? 'us-east-1';
new StorepulseStack(app, 'StorepulseStack', {
  stackName: 'storepulse',
  description:
    'storepulse on the reference architecture: Kinesis, Lambda, DynamoDB, SNS, S3, Glue, Athena (docs/aws.md)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
  config: readConfig((key) => app.node.tryGetContext(key)),
  repoRoot: fileURLToPath(new URL('../..', import.meta.url)),
});
