import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VerdictDocumentSchema } from '../../lambdas/core/contracts/pipeline';
import { status } from '../../cli/commands/status';
import { type Call, connectWith, DOCUMENT, fakeClients, SHA, VERDICT_ITEM } from '../deployed/fakes';
import { runCli, runCommand } from './fake-io';

afterEach(() => {
  vi.unstubAllEnvs();
});

const clients = (calls: Call[] = []) =>
  fakeClients(
    {
      GetCommand: (input) => ({
        Item: (input.Key as { pk: string }).pk === `SAMPLE#${SHA}` ? VERDICT_ITEM : undefined,
      }),
    },
    calls,
  );

describe('sandtrap status', () => {
  it('prints the stored verdict as the verdict document, or the analyze table', async () => {
    const seen: { stack?: string }[] = [];
    vi.stubEnv('SANDTRAP_STACK', 'Staging');
    const json = await runCli(['status', SHA, '--json'], { connect: connectWith(clients(), seen) });
    expect(json.code).toBe(0);
    expect(VerdictDocumentSchema.parse(JSON.parse(json.stdout))).toEqual(DOCUMENT);
    expect(seen[0]?.stack).toBe('Staging');
    const table = await runCli(['status', SHA, '--stack', 'Prod'], { connect: connectWith(clients(), seen) });
    expect(table.stdout).toMatch(
      /^FILE\s+VERDICT\s+SCORE\s+TYPE\s+SIZE\s+SHA256\s+CACHED\ns3:\/\/ingest\/mail\/invoice\.js\s+malicious\s+92\s+script-js\s+52 B/,
    );
    expect(seen[1]?.stack).toBe('Prod');
  });

  it('of an unknown sha256 is one line naming the stack and table, exit 1', async () => {
    const result = await runCli(['status', SHA], { connect: connectWith(fakeClients({ GetCommand: () => ({}) })) });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `sandtrap: no verdict for ${SHA} in stack Sandtrap (table verdicts)\n`,
    });
  });

  it('rejects a malformed sha256 before connecting to any stack', async () => {
    const seen: { stack?: string }[] = [];
    const result = await runCommand(status, { sha256: 'abc123' }, { connect: connectWith(clients(), seen) });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'sandtrap: "abc123" is not a sha256 (64 hex digits)\n' });
    expect(seen).toEqual([]);
  });

  it('looks an upper-case sha256 up in lower case, on the stack and region asked for, and closes the connection', async () => {
    const calls: Call[] = [];
    const seen: { stack?: string; region?: string }[] = [];
    const closed = { count: 0 };
    const result = await runCommand(
      status,
      { sha256: SHA.toUpperCase(), stack: 'Prod', region: 'eu-central-1', json: true },
      { connect: connectWith(clients(calls), seen, closed) },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ sha256: SHA, verdict: 'malicious', score: 92 });
    expect(seen).toEqual([{ stack: 'Prod', region: 'eu-central-1' }]);
    expect(calls.map((c) => (c.input.Key as { pk: string }).pk)).toEqual([`SAMPLE#${SHA}`]);
    expect(closed.count).toBe(1);
  });

  it('prints a failure to connect as one line, exit 1', async () => {
    const result = await runCommand(
      status,
      { sha256: SHA },
      {
        connect: async () => {
          throw new Error('stack Sandtrap not found in eu-west-1\n(deploy it)');
        },
      },
    );
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sandtrap: stack Sandtrap not found in eu-west-1\\n(deploy it)\n',
    });
  });
});

describe('the real sandtrap binary against a deployed stack', () => {
  it('prints one line and exits 1 for a bad sha256 and for missing credentials', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'sandtrap.mjs');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_REGION: 'us-east-1',
    };
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    ])
      delete env[name];
    // A closed loopback port: should the credential chain ever be satisfied, nothing leaves the machine.
    env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [bin, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        ),
      );
    const [badSha, noCredentials] = await Promise.all([run(['report', 'xyz']), run(['status', SHA])]);
    expect(badSha).toEqual({ code: 1, stdout: '', stderr: 'sandtrap: "xyz" is not a sha256 (64 hex digits)\n' });
    expect(noCredentials).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sandtrap: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)\n',
    });
  });
});
