// The wait before a retry, shared by every loop that retries AWS calls against a deadline: exponential
// backoff with full jitter (a random wait up to min(maxMs, baseMs x 2^attempt)), never past the deadline.

export interface BackoffClock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/**
 * Waits before retry number `attempt` (none before the first attempt, 0). False, without waiting, when
 * the wait would reach `deadline`: the caller stops retrying.
 */
export async function waitBeforeRetry(attempt: number, deadline: number, clock: BackoffClock, { baseMs = 25, maxMs = 1_000 } = {}): Promise<boolean> {
  if (attempt === 0) return true;
  const delay = Math.floor(clock.random() * Math.min(maxMs, baseMs * 2 ** attempt));
  if (clock.now() + delay >= deadline) return false;
  await clock.sleep(delay);
  return true;
}
