import { describe, expect, it } from 'vitest';
import { detectFileType } from '../../../../lambdas/core/triage/file-type';
import { gzipSync } from 'node:zlib';
import { makeTar, makeZip } from '../../../static/containers';
import { makeApk, makeDocx, makeJar, makePe } from '../../../static/documents';
import { makeCompoundFile } from '../../../static/ole';

describe('detectFileType', () => {
  const text = (s: string) => Buffer.from(s, 'utf8');
  it.each([
    ['elf', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), 'x'],
    ['pe', makePe({ 'KERNEL32.dll': ['ExitProcess'] }), 'a.exe'],
    ['pdf', text('%PDF-1.7\n'), 'a.pdf'],
    ['gzip', Buffer.from([0x1f, 0x8b, 8, 0]), 'a.gz'],
    ['script-sh', text('#!/bin/sh\necho hi\n'), 'noext'],
    ['script-python', text('#!/usr/bin/env python3\nprint(1)\n'), 'run'],
    ['script-perl', text('#!/usr/bin/perl -w\n'), 'x.txt'],
    ['script-python', text('print("no shebang")\n'), 'tool.py'],
    ['script-powershell', text('Write-Host "hi"\n'), 'setup.ps1'],
    ['source-c', text('int main(void) { return 0; }\n'), 'main.c'],
    ['html', text('<!DOCTYPE html><html></html>'), 'page'],
    ['text', text('plain words, ümlauts and 日本語\n'), 'notes'],
    ['binary', Buffer.from([0, 1, 2, 3, 255, 254]), 'blob'],
    ['empty', Buffer.alloc(0), 'empty.bin'],
  ])('names %s from its bytes (and name only where bytes cannot tell)', async (type, head, name) => {
    expect((await detectFileType(head, name)).type).toBe(type);
  });

  it('tells containers apart by what they hold, from the first 8 KiB as triage reads them', async () => {
    const head = (data: Buffer) => data.subarray(0, 8192);
    expect(await detectFileType(head(makeDocx()), 'letter.zip')).toEqual({
      type: 'docx',
      mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    });
    const docm = makeDocx({ macro: { module: 'Module1', source: 'Sub AutoOpen()\nEnd Sub\n' } });
    expect((await detectFileType(head(docm), 'invoice.docx')).type).toBe('docm');
    expect((await detectFileType(head(makeJar()), 'app.zip')).type).toBe('jar');
    expect((await detectFileType(head(makeApk()), 'app.zip')).type).toBe('apk');
    expect((await detectFileType(head(makeZip([{ name: 'a.txt', data: 'a' }])), 'a.docx')).type).toBe('zip');
    expect((await detectFileType(makeCompoundFile([]), 'a.doc')).type).toBe('ole');
    const tarGz = gzipSync(makeTar([{ name: 'run.sh', data: '#!/bin/sh\necho hi\n' }]));
    expect((await detectFileType(tarGz, 'installer.tar.gz')).type).toBe('gzip');
  });

  it('trusts magic bytes over a misleading extension', async () => {
    expect((await detectFileType(Buffer.from('%PDF-1.4'), 'invoice.txt')).type).toBe('pdf');
    expect((await detectFileType(Buffer.from([0x7f, 0x45, 0x4c, 0x46]), 'readme.md')).type).toBe('elf');
  });
});
