import assert from "node:assert/strict";
import { negotiate } from "./negotiate.ts";

const JSON_TYPE = "application/vnd.pypi.simple.v1+json";
const HTML_TYPE = "application/vnd.pypi.simple.v1+html";

Deno.test("pip's Accept header gets JSON", () => {
  assert.equal(negotiate(`${JSON_TYPE}, ${HTML_TYPE}; q=0.1, text/html; q=0.01`, undefined), JSON_TYPE);
});

Deno.test("no Accept, or only wildcards, get text/html", () => {
  assert.equal(negotiate(undefined, undefined), "text/html");
  assert.equal(negotiate("*/*", undefined), "text/html");
  assert.equal(negotiate("text/html,application/xhtml+xml,*/*;q=0.8", undefined), "text/html");
});

Deno.test("weights decide, and latest means v1", () => {
  assert.equal(negotiate(`${JSON_TYPE};q=0.5, ${HTML_TYPE}`, undefined), HTML_TYPE);
  assert.equal(negotiate("application/vnd.pypi.simple.latest+json", undefined), JSON_TYPE);
  assert.equal(negotiate(`text/html;q=0, ${HTML_TYPE};q=0.2`, undefined), HTML_TYPE);
});

Deno.test("?format= wins over Accept", () => {
  assert.equal(negotiate("text/html", JSON_TYPE), JSON_TYPE);
  assert.equal(negotiate(JSON_TYPE, "html"), "text/html");
  assert.throws(() => negotiate(undefined, "xml"), /unknown format/);
});

Deno.test("a client accepting none of the types gets 406", () => {
  assert.throws(() => negotiate("application/json", undefined), (e: Error & { status?: number }) => e.status === 406);
  assert.throws(() => negotiate(`${JSON_TYPE};q=0`, undefined), /none of the accepted media types/);
});
