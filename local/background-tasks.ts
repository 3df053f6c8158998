// The long-running loops of a local service (pollers, delivery loops): sleeps that stopping cuts
// short, and the tasks to wait for before the service's state is saved.
export class BackgroundTasks {
  stopping = false;
  private readonly running = new Set<Promise<void>>();
  private readonly wakers = new Set<() => void>();

  /** Resolves after `ms`, or at once when stopping. */
  sleep(ms: number): Promise<void> {
    if (this.stopping || ms <= 0) return Promise.resolve();
    return new Promise((resolveSleep) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolveSleep();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  track(task: Promise<void>): void {
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  /** Cuts every sleep short and resolves once every tracked task, including ones started meanwhile, has ended. */
  async stopAndWait(): Promise<void> {
    this.stopping = true;
    for (const wake of [...this.wakers]) wake();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
