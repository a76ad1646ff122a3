import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseSettings } from '../lambdas/core/config/runtime-config';
import { detectFileType } from '../lambdas/core/triage/file-type';
import { digestStream } from '../lambdas/core/triage/hashing';
import { nextPollWait } from '../lambdas/core/engines/vendor/polling';
import { aggregate, bandOf } from '../lambdas/core/contracts/scoring';
import type { EngineResult } from '../lambdas/core/contracts/pipeline';

describe('digestStream', () => {
  it('computes sha256, sha1, md5 and size in one pass over many chunks, keeping only the head', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
    data.write('\x7fELF', 0, 'latin1');
    const chunks = [];
    for (let i = 0; i < data.length; i += 65_536) chunks.push(data.subarray(i, i + 65_536));
    const digest = await digestStream(Readable.from(chunks));
    for (const algorithm of ['sha256', 'sha1', 'md5'] as const) {
      expect(digest[algorithm]).toBe(createHash(algorithm).update(data).digest('hex'));
    }
    expect(digest.size).toBe(data.length);
    expect(digest.head.length).toBe(8192);
    expect(detectFileType(digest.head).type).toBe('elf');
  });
});

describe('detectFileType', () => {
  const text = (s: string) => Buffer.from(s, 'utf8');
  it.each([
    ['elf', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), 'x'],
    ['pe', text('MZ\x90\x00'), 'a.exe'],
    ['pdf', text('%PDF-1.7\n'), 'a.pdf'],
    ['zip', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]), 'a.docx'],
    ['gzip', Buffer.from([0x1f, 0x8b, 8, 0]), 'a.gz'],
    ['ole', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 'a.doc'],
    ['script-sh', text('#!/bin/sh\necho hi\n'), 'noext'],
    ['script-python', text('#!/usr/bin/env python3\nprint(1)\n'), 'run'],
    ['script-perl', text('#!/usr/bin/perl -w\n'), 'x.txt'],
    ['script-python', text('print("no shebang")\n'), 'tool.py'],
    ['source-c', text('int main(void) { return 0; }\n'), 'main.c'],
    ['html', text('<!DOCTYPE html><html></html>'), 'page'],
    ['text', text('plain words, ümlauts and 日本語\n'), 'notes'],
    ['binary', Buffer.from([0, 1, 2, 3, 255, 254]), 'blob'],
  ])('names %s from its bytes (and name only where bytes cannot tell)', (type, head, name) => {
    expect(detectFileType(head, name).type).toBe(type);
  });

  it('trusts magic bytes over a misleading extension', () => {
    expect(detectFileType(Buffer.from('%PDF-1.4'), 'invoice.txt').type).toBe('pdf');
    expect(detectFileType(Buffer.from([0x7f, 0x45, 0x4c, 0x46]), 'readme.md').type).toBe('elf');
  });
});

describe('verdict policy', () => {
  const policy = parseSettings({}).policy;
  const result = (score: number | null, status: EngineResult['status'] = 'completed'): EngineResult => ({
    engine: 'cape',
    status,
    verdict: bandOf(score, policy),
    score,
  });

  it('bands scores 0–39 benign, 40–69 suspicious, 70–100 malicious', () => {
    expect([0, 39, 40, 69, 70, 100].map((s) => bandOf(s, policy))).toEqual([
      'benign',
      'benign',
      'suspicious',
      'suspicious',
      'malicious',
      'malicious',
    ]);
  });

  it('takes the highest score by default', () => {
    expect(aggregate([result(10), result(75), result(50)], policy)).toEqual({ verdict: 'malicious', score: 75 });
  });

  it('averages with the mean policy', () => {
    expect(aggregate([result(10), result(70)], { ...policy, method: 'mean' })).toEqual({
      verdict: 'suspicious',
      score: 40,
    });
  });

  it('is unknown, not benign, when no engine produced a score', () => {
    expect(aggregate([], policy)).toEqual({ verdict: 'unknown', score: null });
    expect(aggregate([result(null), result(90, 'timeout'), result(80, 'error')], policy)).toEqual({
      verdict: 'unknown',
      score: null,
    });
  });

  it('rejects a policy whose bands overlap', () => {
    expect(() => parseSettings({ policy: { suspiciousAt: 80, maliciousAt: 70 } })).toThrow(
      /suspiciousAt must be below maliciousAt/,
    );
  });
});

describe('nextPollWait', () => {
  const policy = parseSettings({}).poll;
  it('follows the backoff schedule without a vendor hint, then repeats its last step', () => {
    expect([0, 1, 2, 3, 4, 9].map((attempt) => nextPollWait(policy, attempt, 10_000))).toEqual([
      15, 30, 60, 120, 120, 120,
    ]);
  });
  it('follows the vendor hint within the policy bounds', () => {
    expect(nextPollWait(policy, 0, 10_000, { etaSeconds: 240 })).toBe(240);
    expect(nextPollWait(policy, 0, 10_000, { etaSeconds: 0 })).toBe(15);
    expect(nextPollWait(policy, 0, 10_000, { etaSeconds: 2 })).toBe(5);
    expect(nextPollWait(policy, 0, 10_000, { etaSeconds: 99_999 })).toBe(900);
  });
  it('ignores hints when told to, and never waits past the deadline', () => {
    expect(nextPollWait({ ...policy, useVendorHints: false }, 1, 10_000, { etaSeconds: 240 })).toBe(30);
    expect(nextPollWait(policy, 3, 42.5)).toBe(43);
  });
});
