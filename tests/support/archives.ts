/**
 * Builds real zip archives for tests with zip.js.
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";

zip.configure({ useWebWorkers: false });

/** One entry of a test archive. */
export interface TestEntry {
  name: string;
  /** File content (or, with `symlink`, the link target). Omit for a directory. */
  content?: string | Uint8Array;
  symlink?: boolean;
}

/** Zips `entries` in order. Directories are entries without content whose name ends with `/`. */
export async function buildZip(entries: TestEntry[]): Promise<Uint8Array<ArrayBuffer>> {
  const writer = new zip.ZipWriter(new zip.Uint8ArrayWriter(), { lastModDate: new Date(Date.UTC(2026, 0, 1)) });
  for (const entry of entries) {
    if (entry.content === undefined) {
      await writer.add(entry.name, undefined, { directory: true });
      continue;
    }
    const reader = typeof entry.content === "string"
      ? new zip.TextReader(entry.content)
      : new zip.Uint8ArrayReader(entry.content);
    await writer.add(entry.name, reader, entry.symlink ? { unixMode: 0o120777, versionMadeBy: 0x031e } : {});
  }
  return new Uint8Array(await writer.close());
}

/** A minimal valid package archive: `{top}/Package.swift` (tools 5.9), sources, and optional alternates. */
export function packageZip(options: {
  top?: string;
  toolsVersion?: string;
  alternates?: Record<string, string>;
  extra?: TestEntry[];
} = {}): Promise<Uint8Array<ArrayBuffer>> {
  const top = options.top ?? "LinkedList";
  const entries: TestEntry[] = [
    { name: `${top}/` },
    {
      name: `${top}/Package.swift`,
      content: `// swift-tools-version:${options.toolsVersion ?? "5.9"}\nimport PackageDescription\n\n` +
        `let package = Package(name: "${top}")\n`,
    },
    { name: `${top}/Sources/${top}/${top}.swift`, content: `public struct ${top} {}\n` },
  ];
  for (const [swiftVersion, toolsVersion] of Object.entries(options.alternates ?? {})) {
    entries.push({
      name: `${top}/Package@swift-${swiftVersion}.swift`,
      content: `// swift-tools-version:${toolsVersion}\nimport PackageDescription\n`,
    });
  }
  entries.push(...(options.extra ?? []));
  return buildZip(entries);
}
