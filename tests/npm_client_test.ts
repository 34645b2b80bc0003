import assert from "node:assert/strict";
import { join } from "node:path";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";
import { npmClient, writePackage } from "./support/npm.ts";

/** Runs `node` with `code` in `dir` and returns what it prints. */
async function node(dir: string, args: string[]): Promise<string> {
  const output = await new Deno.Command("node", { args, cwd: dir, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return text.trim();
}

Deno.test("npm publishes unscoped and scoped packages, and npm install brings them into a project node can run", async () => {
  await using t = await startTestServer();
  await using npm = await npmClient(`${t.url}/npm/`, ADMIN_TOKEN);
  const lib = await writePackage(join(npm.dir, "lib"), {
    name: "left-util",
    version: "1.0.0",
    main: "index.js",
    description: "pads things",
  }, { "index.js": "exports.pad = (s) => `[${s}]`;\n", "README.md": "# left-util\n" });
  await npm.ok(["publish"], lib);
  const scoped = await writePackage(join(npm.dir, "scoped"), {
    name: "@acme/greet",
    version: "2.1.0",
    type: "module",
    exports: "./index.js",
    dependencies: { "left-util": "^1.0.0" },
  }, {
    "index.js": 'import { createRequire } from "node:module";\n' +
      'const { pad } = createRequire(import.meta.url)("left-util");\n' +
      "export const greet = (name) => pad(`hello ${name}`);\n",
  });
  await npm.ok(["publish", "--access", "public"], scoped);

  const app = await writePackage(join(npm.dir, "app"), { name: "app", version: "0.0.0", private: true });
  await npm.ok(["install", "@acme/greet"], app);
  assert.equal(
    await node(app, ["--input-type=module", "-e", 'import { greet } from "@acme/greet"; console.log(greet("npm"));']),
    "[hello npm]",
  );
  assert.equal(await node(app, ["-e", 'console.log(require("left-util").pad("x"))']), "[x]");
  const lock = JSON.parse(await Deno.readTextFile(join(app, "package-lock.json")));
  assert.equal(lock.packages["node_modules/@acme/greet"].resolved, `${t.url}/npm/@acme/greet/-/greet-2.1.0.tgz`);
  assert.match(lock.packages["node_modules/left-util"].integrity, /^sha512-/);

  // npm view reads the packument the way install does.
  const view = JSON.parse((await npm.ok(["view", "@acme/greet", "--json"])).stdout);
  assert.equal(view.name, "@acme/greet");
  assert.equal(view["dist-tags"].latest, "2.1.0");
  assert.equal(view.dist.tarball, `${t.url}/npm/@acme/greet/-/greet-2.1.0.tgz`);
});
