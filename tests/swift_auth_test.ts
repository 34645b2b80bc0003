import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { ADMIN_TOKEN, problem, publish, startTestServer } from "./support/server.ts";

/**
 * SwiftPM 6.3.1 on Linux waits forever on a 401 whose challenge offers `Basic`
 * when it has no credentials to answer with, so no route under /swift may offer it.
 */
Deno.test("every 401 under /swift challenges with Bearer only, reads of private packages included", async () => {
  await using t = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  const published = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
  assert.equal(published.status, 201);
  await published.body?.cancel();

  const reads = [
    "/mona/LinkedList",
    "/mona/LinkedList.json",
    "/mona/LinkedList/1.0.0",
    "/mona/LinkedList/1.0.0.json",
    "/mona/LinkedList/1.0.0.zip",
    "/mona/LinkedList/1.0.0/Package.swift",
    "/mona/LinkedList/1.0.0/Package.swift?swift-version=5.9",
    "/identifiers?url=https://github.com/mona/LinkedList",
    "/-/status",
    "/-/signer-change/mona/LinkedList",
    "/search?q=linked",
  ];
  const credentials = [undefined, "Bearer wrong-token", `Basic ${btoa("token:wrong-token")}`];
  const attempts: Array<{ method: string; path: string; authorization?: string }> = [];
  for (const authorization of credentials) {
    for (const path of reads) {
      attempts.push({ method: "GET", path, authorization }, { method: "HEAD", path, authorization });
    }
    attempts.push(
      { method: "POST", path: "", authorization },
      { method: "POST", path: "/login", authorization },
      { method: "PUT", path: "/mona/LinkedList/2.0.0", authorization },
      { method: "POST", path: "/-/signer-change/mona/LinkedList", authorization },
      { method: "POST", path: "/-/yank/mona/LinkedList/1.0.0", authorization },
      { method: "DELETE", path: "/-/yank/mona/LinkedList/1.0.0", authorization },
      { method: "POST", path: "/-/takedown/mona/LinkedList/1.0.0", authorization },
    );
  }
  for (const { method, path, authorization } of attempts) {
    const headers: Record<string, string> = { Accept: "application/vnd.swift.registry.v1+json" };
    if (authorization) headers.Authorization = authorization;
    const response = await fetch(`${t.swift}${path}`, { method, headers });
    const label = `${method} ${path} with ${authorization ?? "no credentials"}`;
    assert.equal(response.status, 401, label);
    const challenge = response.headers.get("www-authenticate") ?? "";
    assert.match(challenge, /^Bearer realm="swift-registry"$/, label);
    assert.doesNotMatch(challenge, /basic/i, label);
    if (method === "HEAD") await response.body?.cancel();
    else await problem(response);
  }

  // Basic credentials sent up front (what SwiftPM does after `login --username`) still work.
  const basic = await fetch(`${t.swift}/mona/LinkedList`, {
    headers: { Authorization: `Basic ${btoa(`token:${ADMIN_TOKEN}`)}` },
  });
  assert.equal(basic.status, 200);
  await basic.body?.cancel();
});
