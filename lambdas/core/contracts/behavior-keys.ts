import * as z from 'zod';

/**
 * What a finding is filed under and how much it weighs: shared by the detonation report, the static
 * engine's report and the verdict document, so static and dynamic findings line up per behaviour.
 */

/** The behaviour keys, a contract shared with the verdict document. */
export const BEHAVIOR_KEYS = [
  'persistence',
  'privilegeEscalation',
  'evasion',
  'dataHarvesting',
  'network',
  'destructive',
  'execution',
  'cryptomining',
] as const;
/** One of the behaviour keys. */
export const BehaviorKeySchema = z.enum(BEHAVIOR_KEYS);
export type BehaviorKey = z.infer<typeof BehaviorKeySchema>;

/** How much an indicator weighs in the score. */
export const SeveritySchema = z.enum(['low', 'medium', 'high', 'critical']);
export type Severity = z.infer<typeof SeveritySchema>;
