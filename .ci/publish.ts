/**
 * `deno task publish`: checks that the package's name can exist on JSR,
 * then runs `deno publish` with the arguments given. `deno publish
 * --dry-run` accepts a scope that JSR refuses (`@x` is one character; JSR
 * scopes have 2 to 20), so the check comes first.
 *
 * @module
 */

/**
 * Why JSR would refuse a package name, if it would.
 *
 * @param name The `name` of deno.json, such as `@x/instance-chart`.
 * @returns The reason, or `undefined` for a name JSR accepts.
 */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return 'deno.json has no "name"';
  const match = /^@([^/]*)\/(.*)$/.exec(name);
  if (!match) return `"${name}" is not of the form @scope/name`;
  const [, scope, pkg] = match;
  if (!/^[a-z0-9-]{2,20}$/.test(scope) || scope.startsWith("-")) {
    return `the scope "@${scope}" is not one JSR allows: 2 to 20 lower-case letters, digits ` +
      "or hyphens, not starting with a hyphen";
  }
  if (!/^[a-z0-9][a-z0-9-]{1,57}$/.test(pkg)) {
    return `the package name "${pkg}" is not one JSR allows: 2 to 58 lower-case letters, digits ` +
      "or hyphens, starting with a letter or digit";
  }
  return undefined;
}

if (import.meta.main) {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const problem = nameProblem(config.name);
  if (problem) {
    console.error(
      `Cannot publish ${config.name ?? "the package"}: ${problem}. Change "name" in deno.json ` +
        "to a scope you own on jsr.io (a one-line change), then run this again.",
    );
    Deno.exit(1);
  }
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["publish", ...Deno.args],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  Deno.exit(code);
}
