/**
 * Text that cannot be a token (a control character, say) where clients hand
 * over tokens: refused like a wrong token, never a 500, never logged.
 */
import assert from "node:assert/strict";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";

Deno.test("npm's legacy login with a password that cannot be a token is a 401 that logs nothing of it", async () => {
  await using t = await startTestServer();
  for (const password of ["a\nb", `${ADMIN_TOKEN}\r`, `${ADMIN_TOKEN} x`]) {
    const response = await fetch(`${t.url}/npm/-/user/org.couchdb.user:mona`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "mona", password }),
    });
    assert.equal(response.status, 401, JSON.stringify(password));
    assert.match((await response.json()).error, /not a valid token/);
  }
  assert.ok(!t.logs.some((line) => line.includes(ADMIN_TOKEN)), "no token in the log");
  assert.ok(!t.logs.some((line) => line.includes("unhandled error")));
});
