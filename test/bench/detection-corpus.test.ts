import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CORPUS_DIRECTORY,
  CorpusEntrySchema,
  CorpusManifestSchema,
  isBenign,
  loadCorpus,
} from '../../bench/detection-corpus';
import { SAMPLES } from '../detonation/harness';

/**
 * The detection corpus's manifest against the files on disk and the rules of the corpus: every
 * sample listed once, ids at ATT&CK's precision, benign samples expecting nothing, and samples that
 * keep the inertness convention of samples/README.md. Nothing is detonated here.
 */

const corpus = loadCorpus();
const root = join(SAMPLES, CORPUS_DIRECTORY);
const onDisk = (dir: string) => readdirSync(join(root, dir)).map((name) => `${dir}/${name}`);
const text = (file: string) => readFileSync(join(root, file), 'utf8');

describe('the detection corpus manifest', () => {
  it('lists every sample on disk, and only those', () => {
    const listed = corpus.samples.map((s) => s.file).sort();
    expect(listed).toEqual([...onDisk('techniques'), ...onDisk('benign')].sort());
  });

  it('holds one sample per technique area of the coverage work and at least twenty benign scripts', () => {
    const techniques = corpus.samples.filter((s) => !isBenign(s));
    expect(techniques.length).toBeGreaterThanOrEqual(35);
    expect(corpus.samples.length - techniques.length).toBeGreaterThanOrEqual(20);
    const keys = new Set(techniques.flatMap((s) => s.keys));
    expect([...keys].sort()).toEqual(
      [
        'cryptomining',
        'dataHarvesting',
        'destructive',
        'evasion',
        'execution',
        'network',
        'persistence',
        'privilegeEscalation',
      ].sort(),
    );
  });

  it('expects benign samples to raise nothing and be judged benign', () => {
    for (const entry of corpus.samples.filter(isBenign)) {
      expect(entry, entry.file).toMatchObject({ keys: [], techniques: [], incidental: [], verdict: 'benign' });
    }
  });

  it('expects every technique sample to be at least suspicious', () => {
    for (const entry of corpus.samples.filter((s) => !isBenign(s))) {
      expect(['suspicious', 'malicious'], entry.file).toContain(entry.verdict);
    }
  });

  it('refuses a parent technique where ATT&CK has sub-techniques, and a sub-technique of one that has none', () => {
    const entry = { file: 'techniques/persistence-crontab.sh', keys: ['persistence'], verdict: 'suspicious' };
    expect(CorpusEntrySchema.safeParse({ ...entry, techniques: ['T1053.003'] }).success).toBe(true);
    expect(CorpusEntrySchema.safeParse({ ...entry, techniques: ['T1053'] }).success).toBe(false);
    expect(CorpusEntrySchema.safeParse({ ...entry, techniques: ['T1105.001'] }).success).toBe(false);
    expect(CorpusEntrySchema.safeParse({ ...entry, techniques: ['T1105'] }).success).toBe(true);
  });

  it('refuses a benign sample that expects a technique, and a technique sample that expects benign', () => {
    expect(
      CorpusEntrySchema.safeParse({ file: 'benign/x.sh', keys: [], techniques: ['T1105'], verdict: 'benign' }).success,
    ).toBe(false);
    expect(
      CorpusEntrySchema.safeParse({
        file: 'techniques/x.sh',
        keys: ['execution'],
        techniques: ['T1105'],
        verdict: 'benign',
      }).success,
    ).toBe(false);
  });

  it('refuses a sample listed twice', () => {
    const entry = { file: 'benign/x.sh', keys: [], techniques: [], verdict: 'benign' };
    expect(CorpusManifestSchema.safeParse({ samples: [entry, entry] }).success).toBe(false);
  });
});

describe('the detection corpus samples', () => {
  it('mark technique samples as test malware and leave benign ones unmarked', () => {
    for (const entry of corpus.samples) {
      const marked = /SANDTRAP-TEST-(MALICIOUS|SUSPICIOUS)/.test(text(entry.file));
      expect(marked, entry.file).toBe(!isBenign(entry));
    }
  });

  it('reach only test names, documentation addresses and refused link-local endpoints over the network', () => {
    const allowed = /(\.example\.test|\.example-mining\.test|^203\.0\.113\.\d+|^169\.254\.(169\.254|170\.2))$/;
    for (const entry of corpus.samples) {
      const source = text(entry.file);
      const hosts = [
        ...source.matchAll(/[a-z+]+:\/\/([A-Za-z0-9.-]+)/g),
        ...source.matchAll(/\/dev\/tcp\/([0-9.]+)\//g),
        ...source.matchAll(/\(\s*"([A-Za-z0-9.-]+)"\s*,\s*\d+\s*\)/g),
        ...source.matchAll(/-connect ([A-Za-z0-9.-]+):/g),
        ...source.matchAll(/--socks5-hostname ([A-Za-z0-9.-]+):/g),
      ].map((m) => m[1] as string);
      for (const host of hosts) expect(host, `${entry.file} reaches ${host}`).toMatch(allowed);
    }
  });

  it('name the expected technique in the header of each technique sample', () => {
    for (const entry of corpus.samples.filter((s) => !isBenign(s))) {
      const header = text(entry.file).split('\n').slice(0, 4).join('\n');
      for (const id of entry.techniques) expect(header, entry.file).toContain(id);
    }
  });
});
