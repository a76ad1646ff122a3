import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { iocExportPaths, report } from '../../cli/commands/report';
import { type Call, connectWith, fakeClients, objectBody } from '../deployed/fakes';
import { detonatedDropper } from '../fixtures/reports/documents';
import { runCli, runCommand } from './fake-io';

/** `sandtrap report <sha256> --iocs stix|csv`, and the exports `--html` writes beside the report. */

const input = detonatedDropper();
const { document, detonation } = input;
const SHA = document.sha256;
const detonationKey = document.engineResults.find((e) => e.engine === 'detonation')?.reportKey as string;

function bucket(calls: Call[] = [], withDetonation = true) {
  return fakeClients(
    {
      GetObjectCommand: (request) => {
        const key = String(request.Key);
        if (key.endsWith('verdict.json')) return objectBody(JSON.stringify(document));
        if (key === detonationKey && withDetonation) return objectBody(JSON.stringify(detonation));
        if (key.endsWith('report.html')) return objectBody('<!doctype html><title>r</title>');
        return Promise.reject(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }));
      },
    },
    calls,
  );
}

describe('sandtrap report --iocs', () => {
  it('prints the indicators as CSV, with the detonation report read from the bucket', async () => {
    const calls: Call[] = [];
    const { code, stdout, stderr } = await runCli(['report', SHA, '--iocs', 'csv'], {
      connect: connectWith(bucket(calls)),
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\r\n');
    expect(lines[0]).toBe('type,value,source');
    expect(lines[1]).toBe(`sha256,${SHA},sample`);
    expect(lines).toContain('domain,pool.supportxmr.com,detonation:dns detonation:connection');
    expect(calls.map((c) => c.input.Key)).toEqual([`reports/${SHA}/verdict.json`, detonationKey]);
  });

  it('prints a STIX 2.1 bundle, the same on every run', async () => {
    const first = await runCli(['report', SHA, '--iocs', 'stix'], { connect: connectWith(bucket()) });
    const second = await runCli(['report', SHA, '--iocs', 'stix'], { connect: connectWith(bucket()) });
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    const bundle = JSON.parse(first.stdout);
    expect(bundle.type).toBe('bundle');
    expect(bundle.objects.some((o: { pattern?: string }) => o.pattern === "[domain-name:value = 'pastebin.com']")).toBe(
      true,
    );
  });

  it('still prints the indicators of the document when the detonation report cannot be read', async () => {
    const { code, stdout } = await runCli(['report', SHA, '--iocs', 'csv'], {
      connect: connectWith(bucket([], false)),
    });
    expect(code).toBe(0);
    expect(stdout).toContain(`sha256,${SHA},sample`);
    expect(stdout).not.toContain('pool.supportxmr.com');
  });

  it('refuses a format it does not know', async () => {
    const { code, stderr } = await runCli(['report', SHA, '--iocs', 'xml'], { connect: connectWith(bucket()) });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/--iocs.*xml|xml.*(stix|csv)/);
  });

  it('writes the STIX bundle and the CSV beside the HTML report', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'sandtrap-report-')), 'r.html');
    const result = await runCommand(report, { target: SHA, html: out, json: true }, { connect: connectWith(bucket()) });
    expect(result.code).toBe(0);
    const paths = iocExportPaths(out);
    expect(paths).toEqual({ stix: out.replace(/html$/, 'iocs.stix.json'), csv: out.replace(/html$/, 'iocs.csv') });
    expect(JSON.parse(readFileSync(paths.stix, 'utf8')).type).toBe('bundle');
    expect(readFileSync(paths.csv, 'utf8')).toContain('url,http://185.225.74.9/api/report?id=ab12,detonation:http');
  });
});
