/**
 * Serialises async work per key inside one process.
 *
 * @module
 */

/**
 * A set of locks addressed by string keys. Work on different keys runs in
 * parallel; work on the same key runs one at a time, in arrival order.
 *
 * @example
 * const locks = new KeyedMutex();
 * await locks.run("swift/mona/linkedlist", async () => { ... });
 */
export class KeyedMutex {
  #tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier holder of `key` has finished. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
