/** The deliveries a receiver has handled, and the one-at-a-time order of each issue's events. */

/**
 * Delivery identifiers handled within the retention period, and the events of each issue being handled.
 * Jira retries a delivery with the same identifier; an old delivery replayed later is dropped here, and the
 * workflow also confirms on the issue that the transition it was started for is still the latest status
 * change.
 */
export class DeliveryLog {
  readonly #retentionMs: number;
  readonly #maxEntries: number;
  readonly #seen = new Map<string, number>();
  /**
   * The events being handled, by issue: this receiver's own (it was one map for the whole process, so a
   * call left hanging by one receiver held every later event of that issue key in any other).
   */
  readonly #pending = new Map<string, Promise<unknown>>();
  constructor({ retentionMs = 7 * 86_400_000, maxEntries = 100_000 } = {}) {
    this.#retentionMs = retentionMs;
    this.#maxEntries = maxEntries;
  }

  seen(id: string, now = Date.now()): boolean {
    const at = this.#seen.get(id);
    return at !== undefined && now - at < this.#retentionMs;
  }

  /** Runs `task` after every earlier task of the same key has finished, whatever their outcome. */
  async oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#pending.get(key) ?? Promise.resolve();
    const run = before.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.#pending.get(key) === settled) this.#pending.delete(key);
    }
  }

  remember(id: string, now = Date.now()): void {
    this.#seen.delete(id);
    this.#seen.set(id, now);
    // Oldest first (insertion order): drop what is past retention, and the oldest beyond the bound.
    for (const [key, at] of this.#seen) {
      if (now - at < this.#retentionMs && this.#seen.size <= this.#maxEntries) break;
      this.#seen.delete(key);
    }
  }
}
