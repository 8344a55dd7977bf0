import assert from "node:assert/strict";

/**
 * A node: module imported as mod.ts loads starts Deno's Node.js layer, some
 * 10 ms of a fresh process before its first chart: the module's node:
 * imports are for types, or dynamic, where only the Node.js transport and
 * DNS seeds need them.
 */
Deno.test("in Deno, the module loads no node: module until it needs one", async () => {
  const { stdout, code } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../mod.ts", import.meta.url).href],
  }).output();
  assert.equal(code, 0);
  const graph: {
    modules: Array<{
      specifier: string;
      dependencies?: Array<{ specifier: string; code?: unknown; isDynamic?: boolean }>;
    }>;
  } = JSON.parse(new TextDecoder().decode(stdout));
  const staticNode = graph.modules.flatMap(({ specifier, dependencies = [] }) =>
    dependencies
      .filter((dep) => dep.specifier.startsWith("node:") && dep.code && !dep.isDynamic)
      .map((dep) => `${specifier.split("/src/").at(-1)} imports ${dep.specifier}`)
  );
  assert.ok(graph.modules.some(({ specifier }) => specifier.endsWith("/src/driver.ts")));
  assert.deepEqual(staticNode, []);
});
