/**
 * Web page test helpers: a registry seeded with releases of several formats
 * (with READMEs, pre-releases and a hostile package).
 *
 * @module
 */
import { packageZip } from "./archives.ts";
import { libraryZip, moduleZip, publishModule } from "./go.ts";
import { escaped, packageTarball, publishBody } from "./npm.ts";
import { coreMetadata, upload, wheel } from "./pypi.ts";
import { ADMIN_TOKEN, publish } from "./server.ts";

/** Text a hostile publisher puts everywhere it can; none of it may run. */
export const HOSTILE = {
  description: `Totally safe <script>window.__pwned = "description"; alert("description")</script>` +
    `<img src=x onerror="window.__pwned = 'img'">`,
  readme: [
    "# Evil package",
    "",
    `<script>window.__pwned = "readme"; alert("readme")</script>`,
    "",
    "[click me](javascript:window.__pwned='link')",
    "",
    `<img src="x" onerror="window.__pwned = 'onerror'">`,
    "",
    `<a href="javascript:alert(3)" onclick="window.__pwned = 'onclick'">raw link</a>`,
    "",
    "![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+)",
    "",
    `<iframe src="javascript:alert(5)"></iframe> <svg onload="alert(6)"></svg>`,
    "",
    "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  ].join("\n"),
  repositoryUrl: "javascript:window.__pwned='repository'",
  author: `<svg onload="window.__pwned = 'author'">`,
};

/** The README of the friendly Swift package. */
export const LINKED_LIST_README = [
  "# LinkedList",
  "",
  "A **doubly linked list** for Swift, with `O(1)` insertion at both ends.",
  "",
  "## Usage",
  "",
  "```swift",
  "var list = LinkedList<Int>()",
  "list.append(1)",
  "```",
  "",
  "See [the documentation](https://docs.example.com/linkedlist).",
].join("\n");

/** Publishes a Swift release with a README and metadata; throws unless it is created. */
export async function publishSwift(
  swift: string,
  scope: string,
  name: string,
  version: string,
  options: { readme?: string; metadata?: Record<string, unknown> } = {},
): Promise<void> {
  const archive = await packageZip({
    top: name,
    extra: options.readme === undefined ? [] : [{ name: `${name}/README.md`, content: options.readme }],
  });
  const response = await publish(swift, `${scope}/${name}/${version}`, { archive, metadata: options.metadata ?? {} });
  if (response.status !== 201) throw new Error(`publish ${scope}.${name} ${version}: ${await response.text()}`);
}

/** Publishes a Go module version with a README; throws unless it is created. */
export async function publishGo(server: string, module: string, version: string, readme?: string): Promise<void> {
  const zip = readme === undefined
    ? await libraryZip(module, version, "hello")
    : await moduleZip(module, version, { "README.md": readme, "hello.go": "package hello\n" });
  const response = await publishModule(server, module, version, zip);
  if (response.status !== 201) throw new Error(`publish ${module}@${version}: ${await response.text()}`);
}

/** Publishes an npm package version as `npm publish` does; throws unless it is created. */
export async function publishNpm(
  server: string,
  name: string,
  version: string,
  manifest: Record<string, unknown> = {},
): Promise<void> {
  const tarball = await packageTarball(name, version, [], manifest);
  const response = await fetch(`${server}/npm/${escaped(name)}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${ADMIN_TOKEN}` },
    body: publishBody(name, version, tarball, { manifest }),
  });
  if (response.status !== 201) throw new Error(`publish ${name}@${version}: ${await response.text()}`);
  await response.body?.cancel();
}

/** Uploads a wheel as twine does, with `extra` core metadata (headers, a blank line, the description). */
export async function publishPypi(server: string, name: string, version: string, extra = ""): Promise<void> {
  const response = await upload(server, await wheel(name, version, { metadata: coreMetadata(name, version, extra) }));
  if (response.status !== 200) throw new Error(`upload ${name} ${version}: ${await response.text()}`);
  await response.body?.cancel();
}

/**
 * Fills a registry with packages of several formats: `mona.LinkedList`
 * (three releases, one a pre-release, with a README), `evil.Package` (hostile
 * text everywhere), the Go module `example.com/greeter` (two versions) and the
 * npm package `@mona/left-pad` (two versions) and the PyPI project `tiny-tool` (two versions).
 */
export async function seedPackages(server: { url: string; swift: string }): Promise<void> {
  const metadata = {
    description: "A doubly linked list for Swift",
    licenseURL: "https://opensource.org/licenses/MIT",
    repositoryURLs: ["https://github.com/mona/LinkedList", "git@github.com:mona/LinkedList.git"],
    author: { name: "Mona Lisa", organization: { name: "Mona Org" } },
  };
  await publishSwift(server.swift, "mona", "LinkedList", "1.0.0", { readme: "# LinkedList\n\nOld README.", metadata });
  await publishSwift(server.swift, "mona", "LinkedList", "1.1.0", { readme: LINKED_LIST_README, metadata });
  await publishSwift(server.swift, "mona", "LinkedList", "2.0.0-beta.1", { readme: LINKED_LIST_README, metadata });
  await publishSwift(server.swift, "evil", "Package", "1.0.0", {
    readme: HOSTILE.readme,
    metadata: {
      description: HOSTILE.description,
      repositoryURLs: [HOSTILE.repositoryUrl],
      licenseURL: "javascript:window.__pwned='license'",
      author: { name: HOSTILE.author },
    },
  });
  await publishGo(server.url, "example.com/greeter", "v1.0.0");
  await publishGo(
    server.url,
    "example.com/greeter",
    "v1.1.0",
    "# greeter\n\nSays hello. Install with `go get example.com/greeter`.",
  );
  const npm = {
    description: "Pads strings on the left",
    keywords: ["pad", "string"],
    license: "MIT",
    repository: { type: "git", url: "git+https://github.com/mona/left-pad.git" },
  };
  await publishNpm(server.url, "@mona/left-pad", "1.0.0", npm);
  await publishNpm(server.url, "@mona/left-pad", "1.1.0", {
    ...npm,
    readme: "# left-pad\n\n```js\nleftPad('x', 3)\n```",
  });
  await publishPypi(server.url, "tiny-tool", "0.9.0");
  await publishPypi(
    server.url,
    "tiny-tool",
    "1.0.0",
    "Description-Content-Type: text/markdown\nLicense: MIT\nProject-URL: Source, https://github.com/mona/tiny-tool\n" +
      "Keywords: cli,tiny\nAuthor: Mona\n\n# tiny-tool\n\nA **tiny** tool.",
  );
}
