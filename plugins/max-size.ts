/**
 * Built-in transform "max-size": refuses source archives larger than
 * `maxBytes` with 413, judging by the size the registry measured; the archive
 * itself is never read.
 *
 * Options: `{ maxBytes: number }` (required, a positive number of bytes).
 *
 * @module
 */
import type { PluginFactory, TransformInput, TransformResult } from "./types.ts";

/** Options of the "max-size" plugin. */
export interface MaxSizeOptions {
  maxBytes: number;
}

const factory: PluginFactory<MaxSizeOptions> = (ctx) => {
  const maxBytes = (ctx.options as Partial<MaxSizeOptions> | undefined)?.maxBytes;
  if (typeof maxBytes !== "number" || !Number.isFinite(maxBytes) || maxBytes <= 0) {
    throw new Error(`max-size: option "maxBytes" must be a positive number of bytes, got ${describe(maxBytes)}`);
  }
  return {
    name: "max-size",
    transforms: [{
      name: "max-size",
      async transform(input: TransformInput): Promise<TransformResult> {
        // The size is all this transform needs: release the stream.
        await input.archive.cancel().catch(() => {});
        if (input.size > maxBytes) {
          return {
            reject: `source archive is ${input.size} bytes, over the ${maxBytes}-byte limit of this registry`,
            status: 413,
          };
        }
        return {};
      },
    }],
  };
};
export default factory;

function describe(value: unknown): string {
  if (value === undefined) return "none";
  return typeof value === "number" ? String(value) : JSON.stringify(value) ?? String(value);
}
