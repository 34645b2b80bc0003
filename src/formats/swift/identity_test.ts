import assert from "node:assert/strict";
import { isValidName, isValidScope, packageId, packageRef } from "./identity.ts";
import { BadRequestError } from "../../errors.ts";

Deno.test("isValidScope accepts letters, digits and single inner hyphens", () => {
  for (const scope of ["mona", "Mona", "a", "A1", "9", "mona-lisa", "a-b-c", "0-0", "MONA"]) {
    assert.equal(isValidScope(scope), true, scope);
  }
});

Deno.test("isValidScope accepts exactly 39 characters and rejects 40", () => {
  assert.equal(isValidScope("a".repeat(39)), true);
  assert.equal(isValidScope("a".repeat(40)), false);
  assert.equal(isValidScope(`${"a-".repeat(19)}a`), true); // 39 characters with hyphens
  assert.equal(isValidScope(`${"a-".repeat(19)}ab`), false); // 40
});

Deno.test("isValidScope rejects leading, trailing and double hyphens", () => {
  for (const scope of ["-mona", "mona-", "mo--na", "-", "--"]) assert.equal(isValidScope(scope), false, scope);
});

Deno.test("isValidScope rejects an empty scope and characters outside the alphabet", () => {
  const invalid = ["", "mo_na", "mo.na", "mo na", "mona/", "mönä", "mona\n", "\nmona", "mona@x", "ｍｏｎａ"];
  for (const scope of invalid) assert.equal(isValidScope(scope), false, JSON.stringify(scope));
});

Deno.test("isValidName accepts letters, digits and single inner hyphens or underscores", () => {
  for (const name of ["LinkedList", "linked-list", "linked_list", "a", "9", "a_b-c", "Swift5"]) {
    assert.equal(isValidName(name), true, name);
  }
});

Deno.test("isValidName accepts exactly 100 characters and rejects 101", () => {
  assert.equal(isValidName("n".repeat(100)), true);
  assert.equal(isValidName("n".repeat(101)), false);
  assert.equal(isValidName(`${"a_".repeat(49)}ab`), true); // 100 characters with underscores
});

Deno.test("isValidName rejects leading, trailing and doubled separators", () => {
  const invalid = ["-list", "list-", "_list", "list_", "a--b", "a__b", "a-_b", "a_-b", "_", "-"];
  for (const name of invalid) assert.equal(isValidName(name), false, name);
});

Deno.test("isValidName rejects dots, empty names and other characters", () => {
  for (const name of ["", "linked.list", "Linked List", "list/x", "lïst", "list\n", "list+1"]) {
    assert.equal(isValidName(name), false, JSON.stringify(name));
  }
});

Deno.test("packageRef keeps the caller's case and lower-cases the key", () => {
  assert.deepEqual(packageRef("Mona", "LinkedList"), {
    format: "swift",
    scope: "Mona",
    name: "LinkedList",
    key: "mona/linkedlist",
    id: "Mona.LinkedList",
  });
});

Deno.test("packageRef gives the same key for scopes and names that differ only in case", () => {
  assert.equal(packageRef("MONA", "linked_LIST").key, packageRef("mona", "Linked_List").key);
});

Deno.test("packageRef throws a BadRequestError for an invalid scope", () => {
  assert.throws(() => packageRef("-mona", "LinkedList"), (error: unknown) => {
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.status, 400);
    assert.match(error.message, /scope "-mona"/);
    return true;
  });
});

Deno.test("packageRef throws a BadRequestError for an invalid name", () => {
  assert.throws(() => packageRef("mona", "linked.list"), (error: unknown) => {
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.status, 400);
    assert.match(error.message, /name "linked\.list"/);
    return true;
  });
});

Deno.test("packageId joins scope and name with a dot, keeping case", () => {
  assert.equal(packageId({ scope: "Mona", name: "LinkedList" }), "Mona.LinkedList");
  assert.equal(packageId(packageRef("mona", "linked-list")), "mona.linked-list");
});
