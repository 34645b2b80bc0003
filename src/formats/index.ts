/**
 * The formats this registry can serve, in the order their routes are mounted.
 * A new format is a folder under `src/formats/` and one line here.
 *
 * @module
 */
import type { FormatDefinition } from "./format.ts";
import { goFormat } from "./go/format.ts";
import { npmFormat } from "./npm/format.ts";
import { pypiFormat } from "./pypi/format.ts";
import { swiftFormat } from "./swift/format.ts";
import { cacheFormat } from "./cache/format.ts";

/** Every format, by id. `REGISTRY_FORMATS` picks which of them a server serves (default: all). */
export const FORMATS: readonly FormatDefinition[] = [
  swiftFormat,
  goFormat,
  cacheFormat,
  npmFormat,
  pypiFormat,
];
