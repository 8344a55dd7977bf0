/**
 * The libraries the benchmark compares with (bench-only: nothing of them is
 * in the package), pinned, and installed with npm into .bench/alternatives
 * by `deno task bench` before it enters the lab, where no registry is
 * reachable. Run as a program, it installs them unless they are there.
 *
 * @module
 */

/** The alternatives and their pinned versions. */
export const ALTERNATIVES = { "bonjour-service": "1.4.4", "node-discover": "1.2.1" } as const;

/** Where they are installed. */
export const ALTERNATIVES_DIR = new URL("../.bench/alternatives/", import.meta.url).pathname;

/** The entry points of the installed alternatives. */
export interface Installed {
  /** bonjour-service's entry, as a file URL. */
  bonjour: string;
  /** node-discover's entry, as a file URL. */
  discover: string;
}

/**
 * Finds the installed alternatives, at the pinned versions.
 *
 * @returns Their entries, or why they cannot be used.
 */
export function installedAlternatives(): Installed | string {
  for (const [name, version] of Object.entries(ALTERNATIVES)) {
    try {
      const manifest = JSON.parse(
        Deno.readTextFileSync(`${ALTERNATIVES_DIR}node_modules/${name}/package.json`),
      );
      if (manifest.version !== version) {
        return `${name} ${manifest.version} installed, not ${version}`;
      }
    } catch {
      return `${name} ${version} is not installed (deno task bench installs it before the run)`;
    }
  }
  const base = `file://${ALTERNATIVES_DIR}node_modules`;
  return {
    bonjour: `${base}/bonjour-service/dist/index.js`,
    discover: `${base}/node-discover/index.js`,
  };
}

/** Installs the pinned versions with npm, unless they are there. */
export async function installAlternatives(): Promise<void> {
  if (typeof installedAlternatives() !== "string") return;
  await Deno.mkdir(ALTERNATIVES_DIR, { recursive: true });
  await Deno.writeTextFile(`${ALTERNATIVES_DIR}package.json`, '{ "private": true }\n');
  const specs = Object.entries(ALTERNATIVES).map(([name, version]) => `${name}@${version}`);
  const { code, stderr } = await new Deno.Command("npm", {
    args: ["install", "--no-audit", "--no-fund", "--save-exact", ...specs],
    cwd: ALTERNATIVES_DIR,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`npm install ${specs.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  }
}

if (import.meta.main) {
  try {
    await installAlternatives();
  } catch (error) {
    // The benchmark runs without them, and says so.
    console.error(`${(error as Error).message}\nThe benchmark runs without the alternatives.`);
  }
}
