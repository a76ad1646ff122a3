import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { AttackIdSchema, BehaviorKeySchema } from '../lambdas/core/contracts/detonation-report';

/**
 * The detection corpus in `samples/detection/`: one inert sample per ATT&CK technique the
 * detonation engine should recognise, and benign scripts of the kinds found in upload and build
 * buckets. `manifest.json` says what each sample must raise; this module is its schema.
 */

/** The corpus directory, relative to `samples/` (the detonation harness reads samples from there). */
export const CORPUS_DIRECTORY = 'detection';

/** Where the manifest lives. */
export const MANIFEST_PATH = fileURLToPath(new URL(`../samples/${CORPUS_DIRECTORY}/manifest.json`, import.meta.url));

/**
 * ATT&CK techniques with sub-techniques, among those the corpus names. An expected id of one of
 * these must be the sub-technique (T1053.003, never T1053): the benchmark matches ids exactly,
 * so a parent id would only ever match a rule that is itself imprecise.
 */
export const TECHNIQUES_WITH_SUBTECHNIQUES: ReadonlySet<string> = new Set([
  'T1003',
  'T1027',
  'T1036',
  'T1037',
  'T1048',
  'T1053',
  'T1055',
  'T1056',
  'T1059',
  'T1070',
  'T1071',
  'T1074',
  'T1090',
  'T1098',
  'T1132',
  'T1136',
  'T1204',
  'T1222',
  'T1496',
  'T1543',
  'T1546',
  'T1547',
  'T1548',
  'T1552',
  'T1553',
  'T1556',
  'T1560',
  'T1562',
  'T1564',
  'T1573',
  'T1574',
]);

/** ATT&CK techniques without sub-techniques, among those the corpus names: they are expected as they are. */
export const TECHNIQUES_WITHOUT_SUBTECHNIQUES: ReadonlySet<string> = new Set([
  'T1005',
  'T1014',
  'T1033',
  'T1040',
  'T1041',
  'T1057',
  'T1082',
  'T1083',
  'T1095',
  'T1105',
  'T1113',
  'T1115',
  'T1140',
  'T1485',
  'T1486',
  'T1489',
  'T1529',
  'T1531',
  'T1571',
]);

/** A technique id at the precision ATT&CK has for it: a sub-technique, or a technique that has none. */
export const PreciseAttackIdSchema = AttackIdSchema.refine(
  (id) =>
    id.includes('.') ? TECHNIQUES_WITH_SUBTECHNIQUES.has(id.slice(0, 5)) : TECHNIQUES_WITHOUT_SUBTECHNIQUES.has(id),
  { message: 'a sub-technique where ATT&CK has sub-techniques (T1053.003, not T1053), of a technique listed here' },
);

/**
 * The least verdict a sample must get. `benign` means exactly benign; `suspicious` means suspicious
 * or malicious (one confident indicator of a technique is enough); `malicious` means malicious.
 */
export const ExpectedVerdictSchema = z.enum(['benign', 'suspicious', 'malicious']);
export type ExpectedVerdict = z.infer<typeof ExpectedVerdictSchema>;

const unique = <T extends z.ZodType>(item: T) =>
  z.array(item).refine((xs) => new Set(xs).size === xs.length, { message: 'no duplicates' });

/** What one sample must raise. */
export const CorpusEntrySchema = z
  .object({
    /** Path under `samples/detection/`: `techniques/<tactic>-<procedure>.<ext>` or `benign/<name>.<ext>`. */
    file: z.string().regex(/^(techniques|benign)\/[a-z0-9-]+\.(sh|py|pl|c)$/),
    /** Behaviour keys that must carry at least one indicator. */
    keys: unique(BehaviorKeySchema),
    /** The techniques the sample is about: each must be among the ATT&CK ids of a raised indicator. */
    techniques: unique(PreciseAttackIdSchema),
    /**
     * Other techniques the procedure really performs on the way (the hidden directory a tool kit
     * sits in, the HTTP of a download): raising them is right, not raising them is no miss.
     */
    incidental: unique(PreciseAttackIdSchema).default([]),
    verdict: ExpectedVerdictSchema,
  })
  .strict()
  .superRefine((entry, ctx) => {
    const benign = entry.file.startsWith('benign/');
    if (benign && (entry.keys.length > 0 || entry.techniques.length > 0 || entry.incidental.length > 0))
      ctx.addIssue({ code: 'custom', message: 'a benign sample expects no key and no technique' });
    if (benign !== (entry.verdict === 'benign'))
      ctx.addIssue({ code: 'custom', message: 'benign samples, and only they, expect the benign verdict' });
    if (!benign && (entry.keys.length === 0 || entry.techniques.length === 0))
      ctx.addIssue({ code: 'custom', message: 'a technique sample expects at least one key and one technique' });
    if (entry.incidental.some((id) => entry.techniques.includes(id)))
      ctx.addIssue({ code: 'custom', message: 'an id is either expected or incidental, not both' });
  });
export type CorpusEntry = z.infer<typeof CorpusEntrySchema>;

/** The manifest: every sample of the corpus, once. */
export const CorpusManifestSchema = z
  .object({ samples: z.array(CorpusEntrySchema).min(1) })
  .strict()
  .refine((m) => new Set(m.samples.map((s) => s.file)).size === m.samples.length, {
    message: 'each sample is listed once',
  });
export type CorpusManifest = z.infer<typeof CorpusManifestSchema>;

/** True for the benign half of the corpus. */
export const isBenign = (entry: Pick<CorpusEntry, 'file'>) => entry.file.startsWith('benign/');

/** The parsed manifest. */
export function loadCorpus(path = MANIFEST_PATH): CorpusManifest {
  return CorpusManifestSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}
