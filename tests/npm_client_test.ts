import assert from "node:assert/strict";
import { join } from "node:path";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";
import { npmClient, runNode, writePackage } from "./support/npm.ts";
import { walk } from "./support/files.ts";

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
    await runNode(app, [
      "--input-type=module",
      "-e",
      'import { greet } from "@acme/greet"; console.log(greet("npm"));',
    ]),
    "[hello npm]",
  );
  assert.equal(await runNode(app, ["-e", 'console.log(require("left-util").pad("x"))']), "[x]");
  const lock = JSON.parse(await Deno.readTextFile(join(app, "package-lock.json")));
  assert.equal(lock.packages["node_modules/@acme/greet"].resolved, `${t.url}/npm/@acme/greet/-/greet-2.1.0.tgz`);
  assert.match(lock.packages["node_modules/left-util"].integrity, /^sha512-/);

  // npm view reads the packument the way install does.
  const view = JSON.parse((await npm.ok(["view", "@acme/greet", "--json"])).stdout);
  assert.equal(view.name, "@acme/greet");
  assert.equal(view["dist-tags"].latest, "2.1.0");
  assert.equal(view.dist.tarball, `${t.url}/npm/@acme/greet/-/greet-2.1.0.tgz`);
});

Deno.test("npm dist-tag, deprecate and whoami work, and republishing a version is refused with 403", async () => {
  await using t = await startTestServer();
  await using npm = await npmClient(`${t.url}/npm/`, ADMIN_TOKEN);
  const pkg = (version: string) =>
    writePackage(join(npm.dir, `tags-${version}`), { name: "@acme/tags", version }, { "index.js": "" });
  await npm.ok(["publish"], await pkg("1.0.0"));
  await npm.ok(["publish", "--tag", "next"], await pkg("2.0.0-beta.1"));

  assert.equal((await npm.ok(["whoami"])).stdout.trim(), "token:admin");
  const tags = () => npm.ok(["dist-tag", "ls", "@acme/tags"]).then((r) => r.stdout.trim().split("\n").sort());
  assert.deepEqual(await tags(), ["latest: 1.0.0", "next: 2.0.0-beta.1"]);
  await npm.ok(["dist-tag", "add", "@acme/tags@2.0.0-beta.1", "beta"]);
  await npm.ok(["dist-tag", "rm", "@acme/tags", "next"]);
  assert.deepEqual(await tags(), ["beta: 2.0.0-beta.1", "latest: 1.0.0"]);

  await npm.ok(["deprecate", "@acme/tags@1.0.0", "use 2.x instead"]);
  const packument = await (await fetch(`${t.url}/npm/@acme%2ftags`)).json();
  assert.equal(packument.versions["1.0.0"].deprecated, "use 2.x instead");
  assert.equal(packument.versions["2.0.0-beta.1"].deprecated, undefined);
  const app = await writePackage(join(npm.dir, "app"), { name: "app", version: "0.0.0", private: true });
  const install = await npm.ok(["install", "@acme/tags@1.0.0", "--loglevel", "warn"], app);
  assert.match(install.stderr, /deprecated @acme\/tags@1\.0\.0: use 2\.x instead/);
  await npm.ok(["deprecate", "@acme/tags@1.0.0", ""]);
  const undeprecated = await (await fetch(`${t.url}/npm/@acme/tags`)).json();
  assert.equal(undeprecated.versions["1.0.0"].deprecated, undefined);

  // npm refuses a republish itself unless forced; forced, the registry answers 403 like npm's registry.
  const again = await npm.run(["publish", "--force"], await pkg("1.0.0"));
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /403[\s\S]*cannot publish over the previously published version 1\.0\.0/);
});

Deno.test("without a token npm whoami and npm publish fail with npm's advice to log in", async () => {
  await using t = await startTestServer();
  await using npm = await npmClient(`${t.url}/npm/`);
  // npm does not even ask without a token; the registry's answer is a 401 with a Bearer challenge.
  const whoami = await npm.run(["whoami"]);
  assert.match(whoami.stderr, /ENEEDAUTH/);
  const anonymous = await fetch(`${t.url}/npm/-/whoami`);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer realm="npm"');
  assert.match((await anonymous.json()).error, /npm login/);
  await npm.setToken("not-a-token-of-this-registry");
  const pkg = await writePackage(join(npm.dir, "p"), { name: "nope", version: "1.0.0" }, { "index.js": "" });
  const publish = await npm.run(["publish"], pkg);
  assert.notEqual(publish.code, 0);
  assert.match(publish.stderr, /authentication token seems to be invalid[\s\S]*npm login/);
  const stored = await fetch(`${t.url}/npm/nope`);
  assert.equal(stored.status, 404);
  await stored.body?.cancel();
});

Deno.test("the legacy login, sent as npm sends it, answers the token, and npm whoami works with it", async () => {
  await using t = await startTestServer();
  // npm 11 tries the web login first and falls back to the legacy one on a 404.
  const web = await fetch(`${t.url}/npm/-/v1/login`, { method: "POST", body: "{}" });
  assert.equal(web.status, 404);
  assert.equal(typeof (await web.json()).error, "string");
  const login = (password: string) =>
    fetch(`${t.url}/npm/-/user/org.couchdb.user:mona`, {
      method: "PUT",
      headers: { "Content-Type": "application/json", "npm-command": "login" },
      body: JSON.stringify({
        _id: "org.couchdb.user:mona",
        name: "mona",
        password,
        type: "user",
        roles: [],
        date: new Date().toISOString(),
      }),
    });
  const refused = await login("wrong-password-for-sure");
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get("www-authenticate") ?? "", /^Bearer/);
  assert.match((await refused.json()).error, /not a valid token/);

  const accepted = await login(ADMIN_TOKEN);
  assert.equal(accepted.status, 201);
  const { ok, token } = await accepted.json();
  assert.equal(ok, true);
  await using npm = await npmClient(`${t.url}/npm/`, token);
  assert.equal((await npm.ok(["whoami"])).stdout.trim(), "token:admin");
});

Deno.test("npm search finds local packages by name, description and keywords", async () => {
  await using t = await startTestServer();
  await using npm = await npmClient(`${t.url}/npm/`, ADMIN_TOKEN);
  await npm.ok(
    ["publish"],
    await writePackage(join(npm.dir, "a"), {
      name: "@acme/colours",
      version: "1.2.3",
      description: "Paints terminals",
      keywords: ["ansi", "terminal"],
      author: "Mona Lisa <mona@example.com>",
    }, { "index.js": "" }),
  );
  await npm.ok(["publish"], await writePackage(join(npm.dir, "b"), { name: "other-thing", version: "0.1.0" }));
  const found = JSON.parse((await npm.ok(["search", "--json", "paints"])).stdout);
  assert.deepEqual(found.map((p: { name: string }) => p.name), ["@acme/colours"]);
  assert.equal(found[0].version, "1.2.3");
  assert.deepEqual(found[0].keywords, ["ansi", "terminal"]);
  const text = (await npm.ok(["search", "ansi"])).stdout;
  assert.match(text, /@acme\/colours/);
  assert.doesNotMatch(text, /other-thing/);
});

Deno.test("npm unpublish needs an admin; the version's tarball is deleted and its number stays taken", async () => {
  await using t = await startTestServer();
  await using npm = await npmClient(`${t.url}/npm/`, ADMIN_TOKEN);
  for (const version of ["1.0.0", "1.1.0"]) {
    await npm.ok(["publish"], await writePackage(join(npm.dir, version), { name: "gone", version }, { "a.js": "" }));
  }
  await npm.ok(["unpublish", "gone@1.1.0"]);
  const packument = await (await fetch(`${t.url}/npm/gone`)).json();
  assert.deepEqual(Object.keys(packument.versions), ["1.0.0"]);
  assert.equal(packument["dist-tags"].latest, "1.0.0");
  const tarball = await fetch(`${t.url}/npm/gone/-/gone-1.1.0.tgz`);
  assert.equal(tarball.status, 404);
  await tarball.body?.cancel();
  const stored = (await Array.fromAsync(walk(join(t.dataDir, "objects/npm/packages/gone"))))
    .filter((f) => f.endsWith(".tgz"));
  assert.deepEqual(stored.map((f) => f.split("/").at(-1)), ["gone-1.0.0.tgz"]);
  const republish = await npm.run(
    ["publish", "--force"],
    await writePackage(join(npm.dir, "again"), { name: "gone", version: "1.1.0" }, { "b.js": "" }),
  );
  assert.match(republish.stderr, /403[\s\S]*cannot publish over the previously published version 1\.1\.0/);

  await npm.ok(["unpublish", "gone", "--force"]);
  const all = await fetch(`${t.url}/npm/gone`);
  assert.equal(all.status, 404);
  assert.match((await all.json()).error, /every version was unpublished/);
});

Deno.test("npm login at a terminal (the legacy prompts) stores the token, and npm whoami works with it", async () => {
  await using t = await startTestServer();
  await using npm = await npmClient(`${t.url}/npm/`);
  // npm prompts only at a terminal: `script` gives it one. Each answer is typed once its prompt shows (npm
  // switches the terminal's mode for the password, which drops anything typed before).
  const login = new Deno.Command("script", {
    args: ["-qec", `npm login --userconfig ${npm.npmrc} --cache ${npm.dir}/cache`, "/dev/null"],
    cwd: npm.dir,
    env: { NO_COLOR: "1", npm_config_progress: "false", HOME: npm.dir },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const hangGuard = setTimeout(() => login.kill(), 60_000); // a prompt never answered must not hang the suite
  const input = login.stdin.getWriter();
  const answers: [RegExp, string][] = [[/Username:/, "mona"], [/Password:/, ADMIN_TOKEN], [
    /Email:/,
    "mona@example.com",
  ]];
  let stdout = "";
  for await (const text of login.stdout.pipeThrough(new TextDecoderStream())) {
    stdout += text;
    while (answers.length > 0 && answers[0][0].test(stdout)) {
      await input.write(new TextEncoder().encode(`${answers.shift()![1]}\n`));
    }
  }
  await input.close().catch(() => {});
  const status = await login.status;
  clearTimeout(hangGuard);
  assert.equal(status.code, 0, stdout);
  assert.match(stdout, /Logged in on/);
  assert.match(await Deno.readTextFile(npm.npmrc), new RegExp(`:_authToken=${ADMIN_TOKEN}`));
  assert.equal((await npm.ok(["whoami"])).stdout.trim(), "token:admin");
});
