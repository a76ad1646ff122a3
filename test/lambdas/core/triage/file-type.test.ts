import { describe, expect, it } from 'vitest';
import { detectFileType } from '../../../../lambdas/core/triage/file-type';

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
