import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LocalPipeline } from '../local/runtime';
import type { FunctionId } from '../lib/steps';
import { makeZip } from '../test/static/containers';
import { makeDocx, makePdf } from '../test/static/documents';
import type { Benchmark, Metric } from './metric';

const MIB = 1024 * 1024;

/** A 1 MiB PDF: one page and an image stream of incompressible bytes, as scanned documents are. */
function pdfOfOneMiB(): Buffer {
  const page = makePdf(['<< /Type /Catalog /Pages 2 0 R >>']).length;
  const image = randomBytes(MIB - page - 400).toString('latin1');
  return makePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im1 4 0 R >> >> >>',
    `<< /Type /XObject /Subtype /Image /Width 512 /Height 512 /Length ${image.length} >>\nstream\n${image}\nendstream`,
  ]);
}

/** Samples of the kinds uploads are made of, each about 1 MiB, new content every call (no cached verdict). */
function mixedSamples(): { key: string; body: Buffer }[] {
  const text = Buffer.from(
    Array.from({ length: 16_384 }, (_, i) => `line ${i} ${randomBytes(20).toString('hex')}\n`).join(''),
  );
  return [
    { key: 'document.pdf', body: pdfOfOneMiB() },
    {
      key: 'letter.docx',
      body: makeDocx({ body: `<w:p><w:r><w:t>${randomBytes(MIB / 4).toString('hex')}</w:t></w:r></w:p>` }),
    },
    { key: 'archive.zip', body: makeZip([{ name: 'data.bin', data: randomBytes(MIB) }]) },
    { key: 'notes.txt', body: text.subarray(0, MIB) },
    { key: 'tool.elf', body: Buffer.concat([readFileSync('/bin/true'), randomBytes(MIB)]) },
  ];
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/**
 * The static engine as the pipeline runs it: each upload goes through the synthesized state machine,
 * and the StaticAnalysis invocation (the Python handler in a warm local worker: read the object from
 * S3, analyse it, write the report) is timed. Throughput is the bytes analysed over the time spent in
 * those invocations; latency is the median invocation for a 1 MiB PDF. One core, as one Lambda
 * invocation at 1769 MB has one vCPU.
 */
export const staticBenchmark: Benchmark = {
  id: 'static',
  title: 'Static engine (Python handler in the local pipeline)',
  async run({ quick }) {
    let timed: number[] = [];
    const onInvoke = (id: FunctionId, ms: number) => {
      if (id === 'StaticFn') timed.push(ms);
    };
    const pipeline = await LocalPipeline.start({
      virtualTime: true,
      cachePlan: false,
      config: { settings: { detonation: { enabled: false } } },
      onInvoke,
    });
    const analyse = async (key: string, body: Buffer) => {
      const run = await pipeline.run(await pipeline.upload({ key, body }));
      if (run.status !== 'SUCCEEDED') throw new Error(`static bench: ${key} failed: ${run.error} ${run.cause}`);
    };
    try {
      // Warm the worker (interpreter, libraries, compiled rules), as a warm Lambda is.
      await analyse('warm/notes.txt', Buffer.from(`warm ${Date.now()}\n`));
      const rounds = quick ? 2 : 5;
      timed = [];
      let bytes = 0;
      for (let round = 0; round < rounds; round++)
        for (const sample of mixedSamples()) {
          await analyse(`mixed/${round}/${sample.key}`, sample.body);
          bytes += sample.body.length;
        }
      const throughput = bytes / MIB / (timed.reduce((a, b) => a + b, 0) / 1000);
      timed = [];
      for (let i = 0; i < (quick ? 5 : 11); i++) await analyse(`latency/${i}.pdf`, pdfOfOneMiB());
      const metrics: Metric[] = [
        {
          name: 'static_throughput_mb_per_s',
          value: Number(throughput.toFixed(2)),
          unit: 'MiB/s (pdf, docx, zip, text, ELF of 1 MiB; one worker)',
          target: '>= 5',
        },
        {
          name: 'static_ms_median_1mb_pdf',
          value: Math.round(median(timed)),
          unit: 'ms per StaticAnalysis invocation',
          target: '< 500',
        },
      ];
      return metrics;
    } finally {
      await pipeline.stop();
    }
  },
};
