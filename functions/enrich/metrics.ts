// The enrich stage's per-batch counters; the EMF document is built by functions/shared/metrics.ts.
export { emfFields, METRICS_NAMESPACE } from '../shared/metrics.js';

export type BatchCounters = Record<
  | 'records'
  | 'enriched'
  | 'duplicatesInBatch'
  | 'duplicatesSeen'
  | 'badRows'
  | 'retried'
  | 'markFailures'
  /** Events an interrupted attempt had written but not marked, found on events-enriched and not written again. */
  | 'duplicatesRecovered',
  number
>;
