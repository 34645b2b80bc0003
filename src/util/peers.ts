/**
 * The other workers of this process (src/http/workers.ts), for the few
 * questions one worker cannot answer alone: the metrics of all of them, the
 * scheduler's status (the first worker runs it), an asynchronous publish that
 * another worker accepted. Requests and answers go over a `BroadcastChannel`
 * of the process; a question waits a bounded time for the answers.
 *
 * Nothing on the hot path uses this: cached documents learn about other
 * workers' writes from shared change counters (src/storage/change_counters.ts).
 *
 * @module
 */

/** Answers a question of another worker; `undefined` means "not mine". */
export type PeerHandler = (payload: unknown) => unknown | Promise<unknown>;

/** The other workers of this process. */
export interface Peers {
  /** This worker's index: 0 is the first worker, which runs the scheduler. */
  readonly index: number;
  /** Workers in all. */
  readonly count: number;
  /**
   * Asks every other worker about `topic`; resolves with the answers that
   * are not `undefined`, once all have answered or after `waitMs`.
   */
  ask<T>(topic: string, payload?: unknown, waitMs?: number): Promise<T[]>;
  /** Answers `topic` for the other workers. */
  answer(topic: string, handler: PeerHandler): void;
  close(): void;
}

/** A worker alone: nobody to ask. */
export const NO_PEERS: Peers = {
  index: 0,
  count: 1,
  ask: () => Promise.resolve([]),
  answer() {},
  close() {},
};

type Message =
  | { kind: "ask"; id: number; from: number; topic: string; payload: unknown }
  | { kind: "answer"; id: number; to: number; value: unknown };

/** {@link Peers} over a `BroadcastChannel` named for one server (several servers may share a process). */
export class ChannelPeers implements Peers {
  readonly index: number;
  readonly count: number;
  readonly #channel: BroadcastChannel;
  readonly #handlers = new Map<string, PeerHandler>();
  readonly #waiting = new Map<number, { answers: unknown[]; left: number; done: () => void }>();
  #nextId = 0;

  constructor(channel: string, index: number, count: number) {
    this.index = index;
    this.count = count;
    this.#channel = new BroadcastChannel(channel);
    this.#channel.onmessage = (event: MessageEvent<Message>) => this.#receive(event.data);
  }

  ask<T>(topic: string, payload?: unknown, waitMs = 2_000): Promise<T[]> {
    if (this.count < 2) return Promise.resolve([]);
    const id = this.#nextId++;
    return new Promise<T[]>((resolve) => {
      const waiting = {
        answers: [] as unknown[],
        left: this.count - 1,
        done: () => {
          clearTimeout(timer);
          this.#waiting.delete(id);
          resolve(waiting.answers.filter((a) => a !== undefined) as T[]);
        },
      };
      const timer = setTimeout(waiting.done, waitMs);
      this.#waiting.set(id, waiting);
      this.#channel.postMessage({ kind: "ask", id, from: this.index, topic, payload } satisfies Message);
    });
  }

  answer(topic: string, handler: PeerHandler): void {
    this.#handlers.set(topic, handler);
  }

  close(): void {
    this.#channel.close();
    for (const waiting of this.#waiting.values()) waiting.done();
  }

  async #receive(message: Message): Promise<void> {
    if (message.kind === "answer") {
      if (message.to !== this.index) return;
      const waiting = this.#waiting.get(message.id);
      if (waiting === undefined) return;
      waiting.answers.push(message.value);
      if (--waiting.left === 0) waiting.done();
      return;
    }
    let value: unknown;
    try {
      value = await this.#handlers.get(message.topic)?.(message.payload);
    } catch {
      value = undefined;
    }
    try {
      this.#channel.postMessage({ kind: "answer", id: message.id, to: message.from, value } satisfies Message);
    } catch { /* closed meanwhile */ }
  }
}
