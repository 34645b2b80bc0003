/**
 * Entry point of the registry binary. See `main.ts --help`.
 *
 * @module
 */
import { runCli } from "./src/cli/main.ts";

if (import.meta.main) {
  const env = Deno.env.toObject();
  // The token is only kept hashed: drop the plain value from the process environment.
  Deno.env.delete("REGISTRY_ADMIN_TOKEN");
  Deno.exit(await runCli(Deno.args, env));
}
