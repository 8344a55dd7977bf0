import "./_lab.ts";
import assert from "node:assert/strict";
import { freshPort } from "./_charts.ts";

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

/**
 * Deno runs next ticks only once node:process is imported, and its
 * node:dgram emits `close` on one: the transport imports it as a socket
 * closes, not as the chart is built. A process of its own, which nothing
 * of the Node.js layer has loaded before (this test runner has).
 */
Deno.test("in a fresh Deno process without --unstable-net, a chart over node:dgram builds and closes", async () => {
  const probe = new URL("./_load_probe.mjs", import.meta.url).href;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", probe, new URL("../mod.ts", import.meta.url).href, String(freshPort())],
    env: { INSTANCE_CHART_LAB: "1" },
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  // When the import had finished, and when the chart was built; printed once it closed.
  const [imported, built] = new TextDecoder().decode(stdout).trim().split(" ").map(Number);
  assert.ok(imported > 0 && built > imported, `printed ${imported} ${built}`);
});
