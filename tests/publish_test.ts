import assert from "node:assert/strict";
import { nameProblem } from "../.ci/publish.ts";
import { publishedFiles, ROOT } from "./_published.ts";

Deno.test("every link and image of the published README points at a published file", async () => {
  const files = new Set(await publishedFiles());
  assert.ok(files.has("README.md") && files.has("mod.ts"), [...files].join("\n"));
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target)
    .filter((target) => !/^(?:[a-z]+:|#)/.test(target))
    .map((target) => target.replace(/#.*$/, ""));
  assert.ok(targets.length > 0, "the README links no file");
  const missing = targets.filter((target) => !files.has(target));
  assert.deepEqual(missing, [], `not published: ${missing.join(", ")}`);
});

Deno.test("deno task publish refuses a name JSR would refuse, and says why", () => {
  assert.match(nameProblem("@x/instance-chart")!, /scope "@x" is not one JSR allows: 2 to 20/);
  assert.match(nameProblem("@abcdefghijklmnopqrstu/p")!, /scope/);
  assert.match(nameProblem("@-ab/p")!, /scope/);
  assert.match(nameProblem("@Ab/p")!, /scope/);
  assert.match(nameProblem("@ab/Instance")!, /package name/);
  assert.match(nameProblem("@ab/-p")!, /package name/);
  assert.match(nameProblem("instance-chart")!, /not of the form @scope\/name/);
  assert.match(nameProblem(undefined)!, /no "name"/);
  assert.equal(nameProblem("@xy/instance-chart"), undefined);
  assert.equal(nameProblem("@a-b-c/instance-chart"), undefined);
});
