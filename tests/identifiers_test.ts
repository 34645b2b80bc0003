import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { get, problem, publish, startTestServer } from "./support/server.ts";

Deno.test("identifiers: every spelling of a repository URL finds the package", async () => {
  await using t = await startTestServer();
  const response = await publish(t.swift, "mona/LinkedList/1.0.0", {
    archive: await packageZip(),
    metadata: { repositoryURLs: ["https://github.com/mona/LinkedList", "ssh://git@github.com/mona/LinkedList.git"] },
  });
  assert.equal(response.status, 201);
  await response.body?.cancel();
  const spellings = [
    "https://github.com/mona/LinkedList",
    "https://github.com/mona/LinkedList.git",
    "https://github.com/mona/LinkedList/",
    "HTTPS://GITHUB.COM/MONA/LINKEDLIST",
    "http://github.com/mona/linkedlist",
    "git@github.com:mona/LinkedList.git",
    "ssh://git@github.com/mona/LinkedList.git",
    "ssh://git@github.com:22/mona/LinkedList",
  ];
  for (const url of spellings) {
    const found = await get(`${t.swift}/identifiers?url=${encodeURIComponent(url)}`);
    assert.equal(found.status, 200, url);
    assert.equal(found.headers.get("content-type"), "application/json");
    assert.equal(found.headers.get("content-version"), "1");
    assert.deepEqual(await found.json(), { identifiers: ["mona.LinkedList"] }, url);
  }
});

Deno.test("identifiers: several packages declaring one repository are all returned, sorted", async () => {
  await using t = await startTestServer();
  const metadata = { repositoryURLs: ["https://github.com/mona/LinkedList"] };
  for (const path of ["zed/LinkedList/1.0.0", "mona/LinkedList/1.0.0"]) {
    const response = await publish(t.swift, path, { archive: await packageZip(), metadata });
    assert.equal(response.status, 201);
    await response.body?.cancel();
  }
  const found = await get(`${t.swift}/identifiers?url=https://github.com/mona/LinkedList`);
  assert.deepEqual(await found.json(), { identifiers: ["mona.LinkedList", "zed.LinkedList"] });
});

Deno.test("identifiers: unknown or unparseable URLs are 404, a missing url is 400", async () => {
  await using t = await startTestServer();
  for (const url of ["https://github.com/nobody/nothing", "not a url", "https://github.com/"]) {
    const response = await get(`${t.swift}/identifiers?url=${encodeURIComponent(url)}`);
    assert.equal(response.status, 404, url);
    await problem(response);
  }
  for (const query of ["", "?url=", "?other=1"]) {
    const response = await get(`${t.swift}/identifiers${query}`);
    assert.equal(response.status, 400, query);
    await problem(response);
  }
});

Deno.test("identifiers: a rejected publish does not create a mapping", async () => {
  await using t = await startTestServer();
  const metadata = { repositoryURLs: ["https://github.com/mona/Rejected"] };
  const first = await publish(t.swift, "mona/Accepted/1.0.0", { archive: await packageZip() });
  assert.equal(first.status, 201);
  await first.body?.cancel();
  // A conflicting publish whose metadata names a new URL: the version exists, so nothing is recorded.
  const conflict = await publish(t.swift, "mona/Accepted/1.0.0", { archive: await packageZip(), metadata });
  assert.equal(conflict.status, 409);
  await conflict.body?.cancel();
  const lookup = await get(`${t.swift}/identifiers?url=https://github.com/mona/Rejected`);
  assert.equal(lookup.status, 404);
  await lookup.body?.cancel();
});
