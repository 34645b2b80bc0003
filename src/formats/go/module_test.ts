import assert from "node:assert/strict";
import { declaredModulePath } from "./go_mod.ts";
import {
  checkModulePath,
  checkVersionForPath,
  escapeCase,
  filePathProblem,
  isCanonicalVersion,
  isPseudoVersion,
  latestVersion,
  ModuleRuleError,
  splitPathVersion,
  unescapeCase,
} from "./module.ts";
import { compileModulePatterns, PatternError } from "./patterns.ts";
import { parseProxyPath, ProxyPathError } from "./proxy_path.ts";

Deno.test("module paths are checked as the go command checks them", () => {
  for (const ok of ["example.com/m", "github.com/Azure/azure-sdk-for-go/v68", "gopkg.in/yaml.v3", "a.b/c~d_e.f-g"]) {
    checkModulePath(ok);
  }
  const refused: [string, RegExp][] = [
    ["example/m", /missing dot in first path element/],
    ["Example.com/m", /invalid char "E" in first path element/],
    ["example.com//m", /double slash/],
    ["example.com/m/", /trailing slash/],
    ["example.com/.m", /leading dot/],
    ["example.com/m./x", /trailing dot/],
    ["example.com/../x", /invalid path element/],
    ["example.com/m@v1", /invalid char "@"/],
    ["example.com/con/x", /disallowed as path element component on Windows/],
    ["example.com/PROGRA~1", /trailing tilde and digits/],
    ["example.com/m/v1", /invalid version suffix/],
    ["example.com/m/v0", /invalid version suffix/],
    ["example.com/m/v2.0", /invalid version suffix/],
    ["gopkg.in/yaml", /invalid version suffix/],
  ];
  for (const [path, why] of refused) {
    assert.throws(() => checkModulePath(path), (e) => e instanceof ModuleRuleError && why.test(e.message), path);
  }
  assert.deepEqual(splitPathVersion("example.com/m/v2"), ["example.com/m", "/v2"]);
  assert.deepEqual(splitPathVersion("gopkg.in/yaml.v3"), ["gopkg.in/yaml", ".v3"]);
  assert.deepEqual(splitPathVersion("example.com/xv2"), ["example.com/xv2", ""]);
});

Deno.test("file paths in module zips follow the go command's rules", () => {
  for (const ok of [".gitignore", "-x.go", "a b/c.go", "[x]{y}=z+@.txt", "dir/ünïcode.go"]) {
    assert.equal(filePathProblem(ok), null, ok);
  }
  for (const bad of ["a:b", 'x"y', "a*b", "a\\b", "a/../b", "a//b", "", "nul.txt", "x\ny"]) {
    assert.notEqual(filePathProblem(bad), null, JSON.stringify(bad));
  }
});

Deno.test("only canonical versions that suit the module path are accepted", () => {
  for (const ok of ["v0.1.0", "v1.2.3-rc.1", "v2.0.0+incompatible", "v0.0.0-20240102030405-abcdefabcdef"]) {
    assert.ok(isCanonicalVersion(ok), ok);
  }
  for (const bad of ["v1.2", "1.2.3", "v1.2.3+build", "v01.2.3", "v1.2.3-01", "latest"]) {
    assert.ok(!isCanonicalVersion(bad), bad);
  }
  checkVersionForPath("example.com/m", "v1.9.0");
  checkVersionForPath("example.com/m/v3", "v3.1.0");
  checkVersionForPath("example.com/m", "v4.0.0+incompatible");
  checkVersionForPath("gopkg.in/check.v1", "v0.0.0-20201130134442-10cb98267c6c");
  assert.throws(() => checkVersionForPath("example.com/m", "v2.0.0"), /needs the module path to end in \/v2/);
  assert.throws(() => checkVersionForPath("example.com/m/v2", "v3.0.0"), /suffix \/v2 needs v2 versions/);
  assert.throws(() => checkVersionForPath("example.com/m/v2", "v2.0.0+incompatible"), /major-version suffix/);
  assert.throws(() => checkVersionForPath("example.com/m", "v1.0.0+incompatible"), /v1 is compatible/);
  assert.ok(isPseudoVersion("v1.2.4-0.20240102030405-abcdefabcdef"));
  assert.ok(!isPseudoVersion("v1.2.4-rc.1"));
  assert.equal(latestVersion(["v1.10.0", "v1.9.0", "v2.0.0-rc.1"]), "v1.10.0");
  assert.equal(latestVersion(["v0.0.0-20240102030405-abcdefabcdef", "v0.1.0-rc.1"]), "v0.1.0-rc.1");
});

Deno.test("case-encoding round-trips and refuses what the go command never sends", () => {
  assert.equal(escapeCase("github.com/BurntSushi/toml"), "github.com/!burnt!sushi/toml");
  assert.equal(unescapeCase("github.com/!burnt!sushi/toml"), "github.com/BurntSushi/toml");
  assert.equal(unescapeCase("github.com/BurntSushi"), null);
  assert.equal(unescapeCase("example.com/!1"), null);
  assert.equal(unescapeCase("example.com/x!"), null);
});

Deno.test("proxy paths are split into module, file and version after percent-decoding", () => {
  assert.deepEqual(parseProxyPath("github.com/%21azure/sdk/v2/@v/v2.0.0-%21r%21c1.zip"), {
    kind: "zip",
    module: "github.com/Azure/sdk/v2",
    version: "v2.0.0-RC1",
  });
  assert.deepEqual(parseProxyPath("example.com/m/@v/list"), { kind: "list", module: "example.com/m" });
  assert.deepEqual(parseProxyPath("example.com/m/@latest"), { kind: "latest", module: "example.com/m" });
  assert.deepEqual(parseProxyPath("sumdb/sum.golang.org/lookup/example.com/m@v1.0.0"), {
    kind: "sumdb",
    name: "sum.golang.org",
    rest: "lookup/example.com/m@v1.0.0",
  });
  for (const bad of ["example.com/m", "example.com/m/@v/", "example.com/m/@v/v1.0.0.tgz", "%E0%A4%A", "sumdb/x/../y"]) {
    assert.throws(() => parseProxyPath(bad), ProxyPathError, bad);
  }
});

Deno.test("go.mod module directives are read in every spelling", () => {
  assert.equal(declaredModulePath("// header\nmodule example.com/m\n\ngo 1.19\n"), "example.com/m");
  assert.equal(declaredModulePath('module "example.com/m" // quoted\n'), "example.com/m");
  assert.equal(declaredModulePath("module `example.com/m`\r\n"), "example.com/m");
  assert.equal(declaredModulePath("module (\n\texample.com/m\n)\n"), "example.com/m");
  assert.equal(declaredModulePath("go 1.19\n// module example.com/commented\n"), null);
  assert.equal(declaredModulePath("modules example.com/m\n"), null);
});

Deno.test("exclusion patterns match module paths by their leading elements, with GOPRIVATE's globs", () => {
  const patterns = compileModulePatterns("*.corp.example.com, example.com/private/ ,example.net/team-[a-c]?,,");
  assert.deepEqual(patterns.source, ["*.corp.example.com", "example.com/private", "example.net/team-[a-c]?"]);
  assert.ok(patterns.matches("git.corp.example.com/x/y/v2"));
  assert.ok(patterns.matches("example.com/private"));
  assert.ok(patterns.matches("example.com/private/tools"));
  assert.ok(patterns.matches("example.net/team-b1/lib"));
  assert.ok(!patterns.matches("corp.example.com/x"), "* needs at least the dot before it");
  assert.ok(!patterns.matches("example.com/privateer"));
  assert.ok(!patterns.matches("example.com"));
  assert.ok(!patterns.matches("example.net/team-d1"));
  assert.ok(compileModulePatterns("example.com/[^a]x").matches("example.com/bx"));
  assert.ok(!compileModulePatterns("").matches("example.com/m"));
  for (const bad of ["example.com/[", "example.com/[]", "example.com/\\", "example.com/[z-a]"]) {
    assert.throws(() => compileModulePatterns(bad), PatternError, bad);
  }
});
