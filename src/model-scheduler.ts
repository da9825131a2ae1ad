/**
 * ModelManager's scheduler: which calls are admitted, and which model comes next. It knows names and engines only
 * through what it is given; switching itself (sleep, wake, start, the memory budget) is the `switchTo` it is handed.
 *
 * - A call for the model that serves is admitted at once when no other model has calls waiting; otherwise it waits
 *   in one FIFO queue.
 * - A switch starts only when the model being left has finished everything it admitted (nothing is aborted,
 *   nothing is answered by the wrong model). The next model is the one whose oldest call has waited longest, and
 *   every waiting call for it is admitted at once: a mixed burst costs at most one switch per model.
 * - A switch that fails rejects only the calls waiting for that model; the scheduler goes on with the others.
 */

/** What the scheduler is handed. */
export interface SchedulerHooks<E> {
  /** Makes `name` the model that serves, `from` (the model that served, if any) having finished its calls. */
  switchTo(name: string, from: string | undefined): Promise<E>;
  /** Called for each call admitted (the manager keeps each model's last use for least-recently-used choices). */
  onAdmit?(name: string): void;
}

interface Waiter<E> {
  name: string;
  admit(engine: E): void;
  reject(err: unknown): void;
}

export class ModelScheduler<E> {
  readonly #hooks: SchedulerHooks<E>;
  #current: string | undefined;
  #serving: { name: string; engine: E } | undefined;
  #inflight = 0;
  #queue: Waiter<E>[] = [];
  #switching: Promise<void> | undefined;
  #closed: unknown;

  constructor(hooks: SchedulerHooks<E>) {
    this.#hooks = hooks;
  }

  /** The model that serves now, or is being switched to. */
  get current(): string | undefined {
    return this.#current;
  }

  /** The engine of the model that serves, when no switch is under way. */
  get serving(): { name: string; engine: E } | undefined {
    return this.#switching ? undefined : this.#serving;
  }

  /** Calls admitted and not yet released. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Calls waiting, per model, in queue order. */
  get waiting(): string[] {
    return this.#queue.map((w) => w.name);
  }

  /** Resolves with `name`'s engine once the call is admitted; release() it when the call ends. */
  acquire(name: string): Promise<E> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (!this.#switching && this.#serving?.name === name && this.#queue.length === 0) {
      this.#admit(name);
      return Promise.resolve(this.#serving.engine);
    }
    return new Promise<E>((resolve, reject) => {
      this.#queue.push({ name, admit: resolve, reject });
      this.#pump();
    });
  }

  release(): void {
    this.#inflight--;
    this.#pump();
  }

  /** Rejects every waiting call with `error` (and every later acquire), then waits for a switch under way. */
  async close(error: unknown): Promise<void> {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    for (const w of this.#queue.splice(0)) w.reject(error);
    await this.#switching?.catch(() => {});
  }

  #admit(name: string): void {
    this.#inflight++;
    this.#hooks.onAdmit?.(name);
  }

  #pump(): void {
    if (this.#switching || this.#closed !== undefined || this.#queue.length === 0) return;
    const next = this.#queue[0]!.name;
    if (this.#serving?.name === next) {
      this.#admitAll(next, this.#serving.engine);
      return;
    }
    if (this.#inflight > 0) return; // the model being left finishes what it admitted
    const from = this.#serving?.name;
    this.#serving = undefined;
    this.#current = next;
    this.#switching = this.#hooks
      .switchTo(next, from)
      .then(
        (engine) => {
          this.#serving = { name: next, engine };
          if (this.#closed === undefined) this.#admitAll(next, engine);
        },
        (err: unknown) => {
          if (this.#current === next) this.#current = undefined;
          for (const w of this.#take(next)) w.reject(err);
        },
      )
      .finally(() => {
        this.#switching = undefined;
        this.#pump();
      });
  }

  #take(name: string): Waiter<E>[] {
    const taken = this.#queue.filter((w) => w.name === name);
    this.#queue = this.#queue.filter((w) => w.name !== name);
    return taken;
  }

  #admitAll(name: string, engine: E): void {
    for (const w of this.#take(name)) {
      this.#admit(name);
      w.admit(engine);
    }
  }
}
