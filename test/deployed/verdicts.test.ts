import { describe, expect, it } from 'vitest';
import { documentFromRecord, readVerdictDocument, Sha256ArgSchema } from '../../deployed/verdicts';
import { fakeClients, objectBody, RECORD, SHA, STACK } from './fakes';

describe('stored verdicts', () => {
  it('accepts an upper-case sha256 and looks it up in lower case', () => {
    expect(Sha256ArgSchema.parse(` ${SHA.toUpperCase()} `)).toBe(SHA);
    expect(Sha256ArgSchema.safeParse('abc123').error?.issues[0]?.message).toBe(
      '"abc123" is not a sha256 (64 hex digits)',
    );
  });

  it('reads verdict.json of the reports bucket as a verdict document', async () => {
    const document = documentFromRecord(RECORD);
    const clients = fakeClients({ GetObjectCommand: () => objectBody(JSON.stringify(document)) });
    expect(await readVerdictDocument(clients, STACK, SHA)).toEqual(document);
  });
});
