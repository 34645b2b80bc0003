import assert from "node:assert/strict";
import { normalizeRepositoryUrl } from "./repository_url.ts";

const KEY = "github.com/mona/linkedlist";

Deno.test("normalizeRepositoryUrl maps every spelling of one repository to the same key", () => {
  const spellings = [
    "https://github.com/mona/LinkedList",
    "https://github.com/mona/LinkedList.git",
    "https://github.com/mona/LinkedList/",
    "https://github.com/mona/LinkedList.git/",
    "https://GitHub.com/Mona/LinkedList",
    "HTTPS://GITHUB.COM/MONA/LINKEDLIST.GIT",
    "http://github.com/mona/linkedlist",
    "ssh://git@github.com/mona/LinkedList.git",
    "ssh://github.com/mona/LinkedList",
    "git@github.com:mona/LinkedList.git",
    "git@GitHub.com:Mona/LinkedList.git",
    "git@github.com:mona/LinkedList",
    "github.com:mona/LinkedList.git",
    "git://github.com/mona/LinkedList.git",
    "git+ssh://git@github.com/mona/LinkedList.git",
    "ssh+git://git@github.com/mona/LinkedList.git",
  ];
  for (const url of spellings) assert.equal(normalizeRepositoryUrl(url), KEY, url);
});

Deno.test("normalizeRepositoryUrl strips a .git suffix in any case", () => {
  assert.equal(normalizeRepositoryUrl("https://github.com/mona/LinkedList.GIT"), KEY);
  assert.equal(normalizeRepositoryUrl("https://github.com/mona/LinkedList.Git/"), KEY);
});

Deno.test("normalizeRepositoryUrl strips repeated trailing slashes", () => {
  assert.equal(normalizeRepositoryUrl("https://github.com/mona/LinkedList//"), KEY);
  assert.equal(normalizeRepositoryUrl("https://github.com/mona/LinkedList.git//"), KEY);
});

Deno.test("normalizeRepositoryUrl drops user info, the default port, query and fragment", () => {
  assert.equal(normalizeRepositoryUrl("https://user:secret@github.com/mona/LinkedList"), KEY);
  assert.equal(normalizeRepositoryUrl("https://github.com:443/mona/LinkedList"), KEY);
  assert.equal(normalizeRepositoryUrl("http://github.com:80/mona/LinkedList"), KEY);
  assert.equal(normalizeRepositoryUrl("https://github.com/mona/LinkedList?tab=readme#top"), KEY);
});

Deno.test("normalizeRepositoryUrl trims surrounding whitespace", () => {
  assert.equal(normalizeRepositoryUrl("  https://github.com/mona/LinkedList\n"), KEY);
});

Deno.test("normalizeRepositoryUrl keeps paths deeper than owner/repo", () => {
  assert.equal(normalizeRepositoryUrl("https://gitlab.com/Group/SubGroup/Repo.git"), "gitlab.com/group/subgroup/repo");
});

Deno.test("normalizeRepositoryUrl only strips one .git suffix", () => {
  assert.equal(normalizeRepositoryUrl("https://github.com/mona/LinkedList.git.git"), "github.com/mona/linkedlist.git");
});

Deno.test("normalizeRepositoryUrl returns null for garbage", () => {
  const garbage = [
    "",
    "   ",
    "garbage",
    "not a url",
    "https://",
    "https://github.com",
    "https://github.com/",
    "https://github.com/.git",
    "git@github.com:",
    "git@github.com:.git",
    "https://github.com/mona/%ZZ",
    `https://github.com/${"a".repeat(2049)}`,
  ];
  for (const url of garbage) assert.equal(normalizeRepositoryUrl(url), null, JSON.stringify(url));
});

Deno.test("normalizeRepositoryUrl returns null for unsupported schemes", () => {
  for (
    const url of [
      "ftp://github.com/mona/LinkedList",
      "file:///home/mona/LinkedList",
      "data://github.com/mona/LinkedList",
    ]
  ) {
    assert.equal(normalizeRepositoryUrl(url), null, url);
  }
});

Deno.test("normalizeRepositoryUrl returns null for empty path segments", () => {
  assert.equal(normalizeRepositoryUrl("https://github.com/mona//LinkedList"), null);
});

Deno.test("normalizeRepositoryUrl returns null for encoded dot-dot segments hidden behind an encoded slash", () => {
  assert.equal(normalizeRepositoryUrl("https://github.com/mona%2F..%2Fx"), null);
});

Deno.test({
  name: "normalizeRepositoryUrl returns null for dot-dot path segments",
  fn() {
    for (
      const url of [
        "https://github.com/mona/../LinkedList",
        "https://github.com/mona/%2e%2e/LinkedList",
        "git@github.com:mona/../LinkedList.git",
        "git@github.com:../LinkedList.git",
        "ssh://git@github.com/mona/../LinkedList.git",
      ]
    ) {
      assert.equal(normalizeRepositoryUrl(url), null, url);
    }
  },
});

Deno.test("normalizeRepositoryUrl refuses dot segments and encoded slashes instead of resolving them", () => {
  for (const url of ["https://github.com/mona/x/.", "https://github.com/mona/./x", "https://github.com/mona/a%2Fb"]) {
    assert.equal(normalizeRepositoryUrl(url), null, url);
  }
});
