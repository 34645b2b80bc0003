/**
 * The handler of a known path's other methods.
 *
 * @module
 */
import { MethodNotAllowedError } from "../errors.ts";

/** A route handler answering 405 with `Allow: <allow>` (in the format's error shape, like every error). */
export function notAllowed(allow: string): () => never {
  return () => {
    throw new MethodNotAllowedError(`method not allowed; use ${allow}`, allow);
  };
}
