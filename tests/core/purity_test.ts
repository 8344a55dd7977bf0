/**
 * The protocol core is pure: it imports nothing from outside src/core/, and
 * reads no clock, arms no timer, draws no randomness, touches no socket and
 * keeps no state at module level. This reads its sources as text and fails,
 * naming file and line, on anything that would break that.
 *
 * The check is a scanner, not a parser: comments and the insides of strings
 * are blanked first, so that prose and messages may name what the code must
 * not call. It cannot follow aliases (a typed array handed to a function
 * that writes into it); the core has none, and review catches new ones.
 *
 * @module
 */

import assert from "node:assert/strict";

/** One thing the core must not contain, where it is. */
interface Impurity {
  line: number;
  what: string;
}

/** Calls and globals that reach the clock, timers, randomness or the runtime. */
const FORBIDDEN: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(?:setTimeout|setInterval|setImmediate|clearTimeout|clearInterval)\b/g, "a timer"],
  [/\bqueueMicrotask\b/g, "a timer"],
  [/\bperformance\s*\.\s*now\b/g, "the clock"],
  [/\bDate\s*\.\s*now\b/g, "the clock"],
  [/\bnew\s+Date\b|\bDate\s*\(/g, "the clock"],
  [/\bMath\s*\.\s*random\b/g, "randomness"],
  [/\bcrypto\s*\.\s*(?:getRandomValues|randomUUID|subtle)\b/g, "crypto"],
  [/\bDeno\b/g, "the Deno namespace"],
  [/\bglobalThis\b/g, "globalThis"],
  [/\bprocess\s*\./g, "Node's process"],
  [/\bimport\s*\(/g, "a dynamic import"],
  [/\bstream\s*:\s*true\b/g, "a streaming decode, which keeps state between calls"],
  [/\bstatic\s+(?!readonly\b)#?[\w$]+\s*[=;:!?]/g, "a static field that is not readonly"],
];

const TYPED_ARRAY =
  /^new\s+(?:(?:Int8|Uint8|Uint8Clamped|Int16|Uint16|Int32|Uint32|Float16|Float32|Float64|BigInt64|BigUint64)Array|ArrayBuffer|DataView)\b/;
/** Built once and never changed by use: a decode that does not stream keeps nothing. */
const STATELESS = /^new\s+(?:TextEncoder|TextDecoder)\b/;

/**
 * The source with comments blanked (`bare`), and also with the insides of
 * strings, template texts and regular expressions blanked (`code`); both keep
 * every character's offset, so lines count alike.
 */
function blank(source: string): { bare: string; code: string } {
  const bare = source.split("");
  const code = source.split("");
  /** Brace depth inside each `${` of the templates we are in. */
  const templates: number[] = [];
  let last = ""; // The last significant character of code, to tell a regex from a division.
  let i = 0;
  const hide = (from: number, to: number, inBare: boolean) => {
    for (let j = from; j < to; j++) {
      if (source[j] === "\n") continue;
      code[j] = " ";
      if (inBare) bare[j] = " ";
    }
  };
  const skipQuoted = (quote: string) => {
    const start = ++i;
    while (i < source.length && source[i] !== quote && source[i] !== "\n") {
      i += source[i] === "\\" ? 2 : 1;
    }
    hide(start, i, false);
    i++;
  };
  /** Skips template text up to its end or to a `${`; returns whether it ended. */
  const skipTemplate = () => {
    const start = i;
    while (i < source.length && source[i] !== "`" && !source.startsWith("${", i)) {
      i += source[i] === "\\" ? 2 : 1;
    }
    hide(start, i, false);
    if (source[i] === "`") {
      i++;
      return true;
    }
    i += 2;
    templates.push(0);
    return false;
  };
  while (i < source.length) {
    const c = source[i];
    if (source.startsWith("//", i)) {
      const end = source.indexOf("\n", i);
      hide(i, end < 0 ? source.length : end, true);
      i = end < 0 ? source.length : end;
    } else if (source.startsWith("/*", i)) {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      hide(i, stop, true);
      i = stop;
    } else if (c === '"' || c === "'") {
      skipQuoted(c);
      last = c;
    } else if (c === "`") {
      i++;
      skipTemplate();
      last = "`";
    } else if (c === "/" && startsRegex(source, i, last)) {
      // A regular expression literal: skip to its closing slash, past classes.
      const start = ++i;
      let inClass = false;
      while (i < source.length && source[i] !== "\n" && (inClass || source[i] !== "/")) {
        if (source[i] === "\\") i++;
        else if (source[i] === "[") inClass = true;
        else if (source[i] === "]") inClass = false;
        i++;
      }
      hide(start, i, false);
      i++;
      last = "/";
    } else {
      if (templates.length > 0) {
        if (c === "{") templates[templates.length - 1]++;
        else if (c === "}" && templates[templates.length - 1]-- === 0) {
          templates.pop();
          i++;
          skipTemplate();
          last = "`";
          continue;
        }
      }
      if (!/\s/.test(c)) last = c;
      i++;
    }
  }
  return { bare: bare.join(""), code: code.join("") };
}

/** Whether a `/` at `i` starts a regular expression rather than a division. */
function startsRegex(source: string, i: number, last: string): boolean {
  if (last === "" || /[(,=:[!&|?{};+\-*%<>~^]/.test(last)) return true;
  const word = /([\w$]+)\s*$/.exec(source.slice(Math.max(0, i - 20), i))?.[1];
  return word !== undefined &&
    /^(?:return|typeof|case|in|of|delete|void|throw|new|yield|await|else|do)$/.test(word);
}

/** The bracket depth at every offset of blanked code. */
function depths(code: string): number[] {
  const depth: number[] = [];
  let d = 0;
  for (const c of code) {
    if (c === "}" || c === ")" || c === "]") d--;
    depth.push(d);
    if (c === "{" || c === "(" || c === "[") d++;
  }
  return depth;
}

/** Where a typed array bound to `name` is written: by index, or by a method that writes. */
function writesInto(code: string, name: string): number[] {
  const n = name.replace(/\$/g, "\\$");
  const patterns = [
    new RegExp(
      `\\b${n}\\s*\\[[^\\]]*\\]\\s*(?:[-+*/%&|^]|<<|>>>?|\\*\\*|&&|\\|\\||\\?\\?)?=(?!=)`,
      "g",
    ),
    new RegExp(`\\b${n}\\s*\\[[^\\]]*\\]\\s*(?:\\+\\+|--)`, "g"),
    new RegExp(`(?:\\+\\+|--)\\s*${n}\\s*\\[`, "g"),
    new RegExp(`\\b${n}\\s*\\.\\s*(?:set|fill|copyWithin|sort|reverse)\\s*\\(`, "g"),
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match.index));
}

/**
 * Finds what a source file of the core must not contain.
 *
 * @param source The file's text.
 * @param path Its path inside src/core/, to resolve its imports against.
 * @returns What was found, by line.
 */
function impurities(source: string, path = "file.ts"): Impurity[] {
  const { bare, code } = blank(source);
  const lineOf = (index: number) => source.slice(0, index).split("\n").length;
  const found: Impurity[] = [];
  const flag = (index: number, what: string) => found.push({ line: lineOf(index), what });

  // Imports: only files of the core, by a relative path that stays inside it.
  const core = new URL("file:///core/");
  const imports = [
    /\b(?:import|export)\s[^;]*?\bfrom\s*(["'])(.*?)\1/g,
    /\bimport\s*(["'])(.*?)\1/g,
  ];
  for (const pattern of imports) {
    for (const match of bare.matchAll(pattern)) {
      // The keyword must be code, not text inside a string.
      if (code[match.index] !== bare[match.index]) continue;
      const specifier = match[2];
      const inside = specifier.startsWith("./") || specifier.startsWith("../")
        ? new URL(specifier, new URL(path, core)).href.startsWith(core.href)
        : false;
      if (!inside) flag(match.index, `an import from outside src/core/: "${specifier}"`);
    }
  }

  for (const [pattern, what] of FORBIDDEN) {
    for (const match of code.matchAll(pattern)) flag(match.index, `${what}: ${match[0].trim()}`);
  }

  // Module-level state: variables, and constants bound to something that changes.
  const depth = depths(code);
  for (const match of code.matchAll(/^[ \t]*(?:export\s+)?(let|var|const)\s+([\w$]+)/gm)) {
    const at = match.index + match[0].indexOf(match[1]);
    if (depth[at] !== 0) continue;
    const [, kind, name] = match;
    if (kind !== "const") {
      flag(at, `module-level mutable state: ${kind} ${name}`);
      continue;
    }
    // The initialiser: after the first lone `=` at this depth, up to the `;` that ends it.
    let j = at + match[0].length - match[0].indexOf(match[1]);
    while (j < code.length && !(code[j] === "=" && depth[j] === 0 && code[j + 1] !== ">")) j++;
    let end = j + 1;
    while (end < code.length && !(code[end] === ";" && depth[end] === 0)) end++;
    const init = code.slice(j + 1, end).trim();
    if (/^new\s+(?:Map|Set|WeakMap|WeakSet|WeakRef)\b/.test(init)) {
      flag(at, `module-level mutable state: const ${name} = ${init.split("(")[0]}`);
    } else if (init.startsWith("[") || init.startsWith("{")) {
      flag(at, `module-level mutable state: const ${name} is a literal that is not frozen`);
    } else if (TYPED_ARRAY.test(init)) {
      const writes = writesInto(code, name);
      if (writes.length > 0) {
        flag(
          at,
          `module-level mutable state: const ${name} is written at line ${lineOf(writes[0])}`,
        );
      }
    } else if (/^new\b/.test(init) && !STATELESS.test(init)) {
      flag(at, `module-level mutable state: const ${name} = ${init.split("(")[0]}`);
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

/** Every .ts file under a folder, by its path inside it. */
async function sourcesUnder(folder: URL, prefix = ""): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isDirectory) {
      paths.push(
        ...await sourcesUnder(new URL(`${entry.name}/`, folder), `${prefix}${entry.name}/`),
      );
    } else if (entry.name.endsWith(".ts")) {
      paths.push(`${prefix}${entry.name}`);
    }
  }
  return paths.sort();
}

Deno.test("the core imports nothing from outside it, and reads no clock, timer, randomness or global state", async () => {
  const core = new URL("../../src/core/", import.meta.url);
  const paths = await sourcesUnder(core);
  // Read them all: a check that reads nothing passes on anything.
  for (const file of ["protocol.ts", "hmac.ts", "wire.ts", "peers.ts", "expiry.ts"]) {
    assert.ok(paths.includes(file), `src/core/${file} was not read`);
  }
  const found: string[] = [];
  for (const path of paths) {
    const source = await Deno.readTextFile(new URL(path, core));
    for (const { line, what } of impurities(source, path)) {
      found.push(`src/core/${path}:${line}: ${what}`);
    }
  }
  assert.deepEqual(found, [], `\n${found.join("\n")}`);
});

Deno.test("the purity check flags every forbidden form, on its line", () => {
  const cases: Array<[string, string]> = [
    ['import { Link } from "../io/links.ts";', "an import from outside src/core/"],
    ['import { x } from "./sub/../../chart.ts";', "an import from outside src/core/"],
    ['import dgram from "node:dgram";', "an import from outside src/core/"],
    ['import { z } from "npm:zod";', "an import from outside src/core/"],
    ['import { assert } from "jsr:@std/assert";', "an import from outside src/core/"],
    ['import { y } from "https://deno.land/x/y/mod.ts";', "an import from outside src/core/"],
    ['import "../polyfill.ts";', "an import from outside src/core/"],
    ['export { Chart } from "../chart.ts";', "an import from outside src/core/"],
    ['import type {\n  Link,\n} from "../io/links.ts";', "an import from outside src/core/"],
    ['const m = await import("./wire.ts");', "a dynamic import"],
    ["setTimeout(() => {}, 10);", "a timer"],
    ["const t = setInterval(tick, 10);", "a timer"],
    ["setImmediate(tick);", "a timer"],
    ["queueMicrotask(tick);", "a timer"],
    ["clearTimeout(timer);", "a timer"],
    ["const now = performance.now();", "the clock"],
    ["const now = Date.now();", "the clock"],
    ["const now = new Date().getTime();", "the clock"],
    ["const draw = Math.random();", "randomness"],
    ["crypto.getRandomValues(bytes);", "crypto"],
    ["const id = crypto.randomUUID();", "crypto"],
    ['await crypto.subtle.digest("SHA-256", bytes);', "crypto"],
    ["const home = Deno.env.get('HOME');", "the Deno namespace"],
    ["globalThis.chart = this;", "globalThis"],
    ["process.nextTick(tick);", "Node's process"],
    ["utf8.decode(bytes, { stream: true });", "a streaming decode"],
    ["class A {\n  static count = 0;\n}", "a static field that is not readonly"],
    ["let seq = 0;", "module-level mutable state: let seq"],
    ["export let seq = 0;", "module-level mutable state: let seq"],
    ["var seq = 0;", "module-level mutable state: var seq"],
    ["const seen = new Map<bigint, number>();", "module-level mutable state: const seen = new Map"],
    ["const seen = new Set();", "module-level mutable state: const seen = new Set"],
    ["const seen = new WeakMap();", "module-level mutable state: const seen = new WeakMap"],
    ["const NAMES = [1, 2];", "module-level mutable state: const NAMES is a literal"],
    ["export const NAMES: readonly string[] = [\n  'a',\n];", "module-level mutable state"],
    ["const OPTIONS = { a: 1 };", "module-level mutable state: const OPTIONS is a literal"],
    ["const w = new Int32Array(64);\nfunction f() {\n  w[3] = 1;\n}", "written at line 3"],
    ["const w = new Int32Array(64);\nw[i] |= 1;", "written at line 2"],
    ["const w = new Uint8Array(4);\nw[0]++;", "written at line 2"],
    ["const tail = new Uint8Array(128);\ntail.fill(0);", "written at line 2"],
    ["const tail = new Uint8Array(128);\ntail.set(bytes);", "written at line 2"],
    ["const pool = new Pool();", "module-level mutable state: const pool = new Pool"],
  ];
  for (const [source, expected] of cases) {
    const found = impurities(source);
    assert.ok(
      found.some(({ what }) => what.includes(expected)),
      `${JSON.stringify(source)} gave ${JSON.stringify(found)}`,
    );
  }
  assert.deepEqual(impurities("\n\nconst now = Date.now();\n"), [
    { line: 3, what: "the clock: Date.now" },
  ]);
});

Deno.test("the purity check passes what the core may contain", () => {
  const allowed = [
    'import { seqAfter } from "./identity.ts";',
    'import type { Entry } from "./entry.ts";',
    'export { Protocol } from "./protocol.ts";',
    'import { x } from "./sub/x.ts";',
    "// Never call Date.now() or setTimeout here: time is an argument.",
    "/** Unlike Math.random, the source is injected; see Deno.test. */",
    'const message = "Cannot use Date.now() in the core";',
    "const label = `globalThis ${n} setTimeout`;",
    "const pattern = /Deno\\.env|setTimeout/;",
    "const K = new Int32Array([1, 2, 3]);\nfunction f(i: number) {\n  return K[i] === 2;\n}",
    "const INITIAL = new Int32Array(8);\nfunction f(state: Int32Array) {\n  state.set(INITIAL);\n}",
    "const DEFAULT = Object.freeze({ min: 100 });",
    "const NAMES: readonly string[] = Object.freeze(['a', 'b']);",
    "const MAX = 4_096;",
    "const LIMIT = 1n << 64n;",
    'const utf8 = new TextDecoder("utf-8", { fatal: true });',
    "function f() {\n  let seq = 0;\n  const seen = new Map();\n  return [seq, seen];\n}",
    "class A {\n  #count = 0;\n  static readonly MAX = 3;\n  static create() {\n    return new A();\n  }\n}",
    "for (const id of ids) total += id;",
  ];
  for (const source of allowed) {
    assert.deepEqual(impurities(source), [], JSON.stringify(source));
  }
});
