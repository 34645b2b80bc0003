import assert from "node:assert/strict";
import { checkAcceptHeader } from "./media_type.ts";
import { BadRequestError, UnsupportedMediaTypeError } from "../../errors.ts";

function assertBadRequest(accept: string): void {
  assert.throws(() => checkAcceptHeader(accept), (error: unknown) => {
    assert.ok(error instanceof BadRequestError, `${accept}: ${error}`);
    assert.equal(error.status, 400);
    return true;
  });
}

function assertUnsupported(accept: string): void {
  assert.throws(() => checkAcceptHeader(accept), (error: unknown) => {
    assert.ok(error instanceof UnsupportedMediaTypeError, `${accept}: ${error}`);
    assert.equal(error.status, 415);
    return true;
  });
}

Deno.test("checkAcceptHeader passes when there is no Accept header", () => {
  assert.doesNotThrow(() => checkAcceptHeader(undefined));
  assert.doesNotThrow(() => checkAcceptHeader(""));
});

Deno.test("checkAcceptHeader passes version 1 registry media types", () => {
  for (
    const accept of [
      "application/vnd.swift.registry.v1+json",
      "application/vnd.swift.registry.v1",
      "application/vnd.swift.registry.v1+zip",
      "application/vnd.swift.registry.v1+swift",
    ]
  ) {
    assert.doesNotThrow(() => checkAcceptHeader(accept), accept);
  }
});

Deno.test("checkAcceptHeader passes registry media types without a version", () => {
  assert.doesNotThrow(() => checkAcceptHeader("application/vnd.swift.registry+json"));
  assert.doesNotThrow(() => checkAcceptHeader("application/vnd.swift.registry"));
});

Deno.test("checkAcceptHeader passes wildcards and non-registry media types", () => {
  for (const accept of ["*/*", "application/json", "application/zip", "text/html", "application/*"]) {
    assert.doesNotThrow(() => checkAcceptHeader(accept), accept);
  }
});

Deno.test("checkAcceptHeader matches registry media types case-insensitively", () => {
  assert.doesNotThrow(() => checkAcceptHeader("APPLICATION/VND.SWIFT.REGISTRY.V1+JSON"));
  assertUnsupported("Application/Vnd.Swift.Registry.V2+Json");
});

Deno.test("checkAcceptHeader ignores parameters and surrounding whitespace", () => {
  assert.doesNotThrow(() => checkAcceptHeader("  application/vnd.swift.registry.v1+json ; q=0.9 "));
  assert.doesNotThrow(() => checkAcceptHeader("application/vnd.swift.registry.v1+json;charset=utf-8"));
});

Deno.test("checkAcceptHeader rejects a well-formed unsupported version with 415", () => {
  assertUnsupported("application/vnd.swift.registry.v2+json");
  assertUnsupported("application/vnd.swift.registry.v2");
  assertUnsupported("application/vnd.swift.registry.v10+zip");
  assertUnsupported("application/vnd.swift.registry.v0+json");
});

Deno.test("checkAcceptHeader rejects a malformed version with 400", () => {
  for (
    const accept of [
      "application/vnd.swift.registry.vx+json",
      "application/vnd.swift.registry.v+json",
      "application/vnd.swift.registry.v01+json",
      "application/vnd.swift.registry.v1.1+json",
      "application/vnd.swift.registry.v-1+json",
    ]
  ) {
    assertBadRequest(accept);
  }
});

Deno.test("checkAcceptHeader rejects an unknown suffix with 400", () => {
  assertBadRequest("application/vnd.swift.registry.v1+xml");
  assertBadRequest("application/vnd.swift.registry+xml");
  assertBadRequest("application/vnd.swift.registry.v1+");
  assertBadRequest("application/vnd.swift.registry.v1+json+zip");
});

Deno.test("checkAcceptHeader rejects other text after the registry type with 400", () => {
  assertBadRequest("application/vnd.swift.registryfoo");
  assertBadRequest("application/vnd.swift.registry-v1+json");
});

Deno.test("checkAcceptHeader passes when any media range is acceptable", () => {
  assert.doesNotThrow(() => checkAcceptHeader("text/html, application/vnd.swift.registry.v1+json, */*;q=0.1"));
  assert.doesNotThrow(() => checkAcceptHeader("application/json, application/vnd.swift.registry.v2+json"));
  assert.doesNotThrow(() =>
    checkAcceptHeader("application/vnd.swift.registry.v2+json, application/vnd.swift.registry.v1+json")
  );
  assert.doesNotThrow(() =>
    checkAcceptHeader("application/vnd.swift.registry.v1+xml, application/vnd.swift.registry.v1")
  );
});

Deno.test("checkAcceptHeader refuses when no media range is acceptable, preferring 415 over 400", () => {
  assertUnsupported("application/vnd.swift.registry.v2+json, application/vnd.swift.registry.v3");
  assertUnsupported("application/vnd.swift.registry.v1+xml, application/vnd.swift.registry.v2+json");
  assertBadRequest("application/vnd.swift.registry.vx+json,application/vnd.swift.registry.v1+xml");
});
