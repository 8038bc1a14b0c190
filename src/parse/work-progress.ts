/**
 * The progress of a pool of worker threads (row-workers.ts, host-parse-workers.ts), as the threads that wait on it
 * see it: each answer of a worker is a step, and the first failure ends every wait.
 */
export class WorkProgress {
  #failure: Error | undefined;
  #waiters: (() => void)[] = [];

  /** Whether the work has failed. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** Throws the work's failure, if it has failed. */
  check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Resolves once `done()` holds or the work has failed (checked at every step). */
  async until(done: () => boolean): Promise<void> {
    while (!done() && this.#failure === undefined) await this.next();
  }

  /** A step was made: every wait looks again. */
  step(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** The work failed (the first failure is the one kept); every wait ends. */
  fail(err: unknown): void {
    this.#failure ??= err instanceof Error ? err : new Error(String(err));
    this.step();
  }

  /** Resolves at the next step or failure. */
  private next(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
    });
  }
}
