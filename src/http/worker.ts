/**
 * The entry module of each extra worker (see src/http/workers.ts): it waits
 * for its settings from the main thread, serves the shared port, sends its
 * log lines to the main thread in batches, and stops when told.
 *
 * @module
 */
import { ConfigError } from "../config.ts";
import { batchedLines, createJsonLogger } from "../log.ts";
import { ChangeCounters } from "../storage/change_counters.ts";
import { ChannelPeers } from "../util/peers.ts";
import { type RunningServer, startServer } from "./server.ts";
import type { WorkerMessage } from "./workers.ts";

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<WorkerMessage>) => void) | null;
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  close(): void;
};

// Batches of encoded lines go to the first worker, which writes them (handing the buffer over, not copying it).
const toMain = batchedLines((bytes) => Promise.resolve(scope.postMessage({ kind: "log", bytes }, [bytes.buffer])));
let server: RunningServer | undefined;

scope.onmessage = async (event) => {
  const message = event.data;
  if (message.kind === "start") {
    const logger = createJsonLogger(message.config.logLevel, toMain.write, { worker: message.index });
    const peers = new ChannelPeers(message.channel, message.index, message.count);
    try {
      server = await startServer(message.config, logger, {
        worker: { peers, changes: new ChangeCounters(message.changes) },
      });
      scope.postMessage({ kind: "ready" });
    } catch (error) {
      peers.close();
      await toMain.flush();
      scope.postMessage({
        kind: "failed",
        message: (error as Error).message,
        configError: error instanceof ConfigError,
      });
    }
  } else if (message.kind === "stop") {
    await server?.shutdown();
    await toMain.flush();
    scope.postMessage({ kind: "stopped" });
    scope.close();
  }
};
