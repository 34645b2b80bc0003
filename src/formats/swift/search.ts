/**
 * Registry search (SE-0536): the query language `swift package-registry
 * search` sends, and its evaluation over the catalog, which every node keeps
 * in memory and updates on publish, ingestion, yank, takedown and upstream
 * fills (no storage is read per query).
 *
 * The language, a subset of AIP-160: space-separated terms combined with
 * AND (implicit, or the keyword `AND`); `OR` between terms, binding tighter
 * than AND; `NOT term` or `-term` to exclude; double quotes around values
 * with spaces. A bare term matches the scope, name or description; the
 * qualifiers `scope:`, `name:`, `description:` and `author:` match one field;
 * `pkg:swift/<scope>/<name>[@version]` names one package (and a version it
 * must have). Matching is a case-insensitive substring match (exact for
 * `pkg:`). Results are ordered by relevance, then by identity.
 *
 * @module
 */
import type { Catalog, CatalogEntry } from "../../core/catalog.ts";
import { BadRequestError } from "../../errors.ts";
import { isValidName, isValidScope } from "./identity.ts";
import { normalizeVersion } from "./version.ts";

/** Longest query accepted (characters). */
export const MAX_QUERY_LENGTH = 512;
/** Most terms a query may have. */
export const MAX_QUERY_TERMS = 32;
/** Up to this offset + limit, results are ranked as they are found; deeper pages sort every match. */
const MAX_KEPT_IN_ORDER = 1000;

/** A field a qualifier matches. */
type Field = "scope" | "name" | "description" | "author";

/** One search term, its values lower-cased. */
export type SearchTerm =
  | { kind: "text" | Field; value: string }
  | { kind: "pkg"; scope: string; name: string; version?: string };

/** A term, possibly negated. */
export interface SearchUnit {
  negated: boolean;
  term: SearchTerm;
}

/** A parsed query: every group must match; a group matches when any of its units does. */
export type SearchQuery = SearchUnit[][];

const FIELDS: readonly string[] = ["scope", "name", "description", "author"];

/** A word of the query before it is read as a term or an operator. */
interface Token {
  negated: boolean;
  qualifier?: string;
  value: string;
  quoted: boolean;
}

/**
 * Parses a query (`q`, already URL-decoded with `+` as space).
 *
 * @throws {BadRequestError} for a query that is too long, has an unknown
 * qualifier, an empty value, an unterminated quote or a dangling operator.
 * @example
 * parseSearchQuery('networking scope:apple OR scope:vapor -"deprecated"');
 */
export function parseSearchQuery(q: string): SearchQuery {
  if (q.length > MAX_QUERY_LENGTH) {
    throw new BadRequestError(`search query too long (at most ${MAX_QUERY_LENGTH} characters)`);
  }
  const groups: SearchQuery = [];
  let pendingOr = false;
  let pendingNot = false;
  let pendingAnd = false;
  let terms = 0;
  for (const token of tokenize(q)) {
    const keyword = !token.negated && token.qualifier === undefined && !token.quoted ? token.value : "";
    if (keyword === "OR" || keyword === "AND") {
      if (groups.length === 0 || pendingOr || pendingNot || pendingAnd) {
        throw new BadRequestError(`"${keyword}" must stand between two terms`);
      }
      if (keyword === "OR") pendingOr = true;
      else pendingAnd = true;
      continue;
    }
    if (keyword === "NOT") {
      if (pendingNot) throw new BadRequestError('"NOT" must be followed by a term');
      pendingNot = true;
      continue;
    }
    if (++terms > MAX_QUERY_TERMS) throw new BadRequestError(`too many search terms (at most ${MAX_QUERY_TERMS})`);
    const unit: SearchUnit = { negated: token.negated !== pendingNot, term: termOf(token) };
    if (pendingOr) groups.at(-1)!.push(unit);
    else groups.push([unit]);
    pendingOr = pendingNot = pendingAnd = false;
  }
  if (pendingOr || pendingNot || pendingAnd) throw new BadRequestError("the query ends with an operator");
  return groups;
}

/** Splits a query into words: whitespace separates, double quotes group, `-` in front negates. */
function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  const space = /\s/;
  let i = 0;
  while (i < q.length) {
    if (space.test(q[i])) {
      i++;
      continue;
    }
    const negated = q[i] === "-" && i + 1 < q.length && !space.test(q[i + 1]);
    if (negated) i++;
    const token: Token = { negated, value: "", quoted: false };
    while (i < q.length && !space.test(q[i])) {
      if (q[i] === '"') {
        const end = q.indexOf('"', i + 1);
        if (end === -1) throw new BadRequestError("the query has an unterminated quote");
        token.value += q.slice(i + 1, end);
        token.quoted = true;
        i = end + 1;
      } else if (q[i] === ":" && token.qualifier === undefined && !token.quoted && token.value !== "") {
        token.qualifier = token.value.toLowerCase();
        token.value = "";
        i++;
      } else {
        token.value += q[i++];
      }
    }
    tokens.push(token);
  }
  return tokens;
}

function termOf(token: Token): SearchTerm {
  const value = token.value.trim().toLowerCase();
  const qualifier = token.qualifier;
  if (qualifier !== undefined && qualifier !== "pkg" && !FIELDS.includes(qualifier)) {
    throw new BadRequestError(
      `unknown qualifier "${qualifier}:"; use scope:, name:, description:, author: or pkg:`,
    );
  }
  if (value === "") throw new BadRequestError(`empty search term${qualifier ? ` after "${qualifier}:"` : ""}`);
  if (qualifier === undefined) return { kind: "text", value };
  if (qualifier !== "pkg") return { kind: qualifier as Field, value };
  const purl = /^swift\/([^/@\s]+)\/([^/@\s]+)(?:@(\S+))?$/.exec(value);
  const version = purl?.[3] === undefined ? undefined : normalizeVersion(purl[3]);
  if (purl === null || version === null || !isValidScope(purl[1]) || !isValidName(purl[2])) {
    throw new BadRequestError(
      `"pkg:${token.value}" is not a Swift package URL such as pkg:swift/mona/LinkedList or pkg:swift/mona/LinkedList@1.1.1`,
    );
  }
  return { kind: "pkg", scope: purl[1], name: purl[2], ...(version === undefined ? {} : { version }) };
}

/** The lower-cased fields of an entry that terms match. */
interface Fields {
  /** Everything free text matches, in one string (most entries are rejected with one look). */
  text: string;
  id: string;
  scope: string;
  name: string;
  description: string;
  authors: string[];
}

/** Fields per entry: entries are replaced, never mutated, when a package changes. */
const fieldsOf = new WeakMap<CatalogEntry, Fields>();

function fields(entry: CatalogEntry): Fields {
  let known = fieldsOf.get(entry);
  if (known === undefined) {
    const id = entry.id.toLowerCase();
    const description = (entry.description ?? "").toLowerCase();
    known = {
      text: `${id}\n${description}`,
      id,
      scope: (entry.scope ?? "").toLowerCase(),
      name: entry.name.toLowerCase(),
      description,
      authors: (entry.authors ?? []).map((a) => a.toLowerCase()),
    };
    fieldsOf.set(entry, known);
  }
  return known;
}

/** Versions a `pkg:…@version` term asks about, known before matching: `scope/name@version` (lower-cased). */
type KnownVersions = ReadonlySet<string>;

/** How well `term` matches `f`: 0 for no match, more for a better one. */
function score(term: SearchTerm, f: Fields, versions: KnownVersions): number {
  switch (term.kind) {
    case "text": {
      const v = term.value;
      if (!f.text.includes(v)) return 0;
      const onName = f.name === v ? 100 : f.name.startsWith(v) ? 60 : f.name.includes(v) ? 40 : 0;
      const onScope = f.scope === v ? 20 : f.scope.includes(v) || f.id.includes(v) ? 10 : 0;
      return onName + onScope + (f.description.includes(v) ? 5 : 0);
    }
    case "name":
      return f.name === term.value ? 100 : f.name.startsWith(term.value) ? 60 : f.name.includes(term.value) ? 40 : 0;
    case "scope":
      return f.scope.includes(term.value) ? 1 : 0;
    case "description":
      return f.description.includes(term.value) ? 5 : 0;
    case "author":
      return f.authors.some((a) => a.includes(term.value)) ? 1 : 0;
    case "pkg": {
      if (f.scope !== term.scope || f.name !== term.name) return 0;
      return term.version === undefined || versions.has(`${f.scope}/${f.name}@${term.version}`) ? 100 : 0;
    }
  }
}

/** The relevance of an entry for `query`, or -1 when it does not match. */
function relevance(query: SearchQuery, f: Fields, versions: KnownVersions): number {
  let total = 0;
  for (const group of query) {
    let matched = false;
    for (const { negated, term } of group) {
      const points = score(term, f, versions);
      if (negated ? points === 0 : points > 0) {
        matched = true;
        if (!negated) total += points;
      }
    }
    if (!matched) return -1;
  }
  return total;
}

/** One page of search results. */
export interface SearchPage {
  results: CatalogEntry[];
  /** Matching packages the caller may read, on every page. */
  total: number;
}

/** Dependencies of a {@link SwiftSearch}. */
export interface SwiftSearchOptions {
  catalog: Catalog;
  /** The versions of a package, for `pkg:…@version` terms (`null` when it is unknown). */
  versionsOf(scope: string, name: string): Promise<readonly string[] | null>;
}

/** Searches the Swift packages of the catalog. */
export class SwiftSearch {
  readonly #options: SwiftSearchOptions;

  constructor(options: SwiftSearchOptions) {
    this.#options = options;
  }

  /**
   * The matches of `query` that `canRead` allows, ordered by relevance and
   * then identity (the same for any offset and limit), from `offset`.
   */
  async search(
    query: SearchQuery,
    canRead: (entry: CatalogEntry) => Promise<boolean>,
    offset: number,
    limit: number,
  ): Promise<SearchPage> {
    if (query.length === 0) return { results: [], total: 0 };
    const versions = await this.#versionsAskedFor(query);
    // Every readable match counts; only the first offset + limit are kept in order (few, for the usual
    // pages: nothing is allocated for the rest). Deep pages keep everything and sort once.
    const wanted = offset + limit;
    const bounded = wanted <= MAX_KEPT_IN_ORDER;
    const kept: Ranked[] = [];
    let total = 0;
    for (const { entry } of await this.#options.catalog.entries(["swift"])) {
      const f = fields(entry);
      const points = relevance(query, f, versions);
      if (points < 0 || !await canRead(entry)) continue;
      total++;
      if (!bounded) {
        kept.push({ entry, relevance: points, id: f.id });
        continue;
      }
      if (kept.length === wanted && !ranksBefore(points, f.id, entry.id, kept[wanted - 1])) continue;
      const ranked = { entry, relevance: points, id: f.id };
      kept.splice(insertionPoint(kept, ranked), 0, ranked);
      if (kept.length > wanted) kept.pop();
    }
    if (!bounded) kept.sort(order);
    return { results: kept.slice(offset, wanted).map((r) => r.entry), total };
  }

  /** `scope/name@version` for each `pkg:` term with a version that the package has. */
  async #versionsAskedFor(query: SearchQuery): Promise<Set<string>> {
    const known = new Set<string>();
    for (const { term } of query.flat()) {
      if (term.kind !== "pkg" || term.version === undefined) continue;
      const versions = await this.#options.versionsOf(term.scope, term.name);
      if (versions?.some((v) => v.toLowerCase() === term.version)) {
        known.add(`${term.scope}/${term.name}@${term.version}`);
      }
    }
    return known;
  }
}

/** A match with what orders it. */
interface Ranked {
  entry: CatalogEntry;
  relevance: number;
  /** Lower-cased identity. */
  id: string;
}

/** The order of results: relevance, then identity (lower-cased, then as written), so it never depends on paging. */
function order(a: Ranked, b: Ranked): number {
  return b.relevance - a.relevance || compare(a.id, b.id) || compare(a.entry.id, b.entry.id);
}

/** Whether a match (`relevance`, lower-cased `id`, `entryId`) comes before `ranked` in {@link order}. */
function ranksBefore(relevance: number, id: string, entryId: string, ranked: Ranked): boolean {
  if (relevance !== ranked.relevance) return relevance > ranked.relevance;
  return id !== ranked.id ? id < ranked.id : entryId < ranked.entry.id;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Where `item` goes in `list`, which is in {@link order} (after its equals). */
function insertionPoint(list: readonly Ranked[], item: Ranked): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (order(list[middle], item) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
