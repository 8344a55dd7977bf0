import assert from "node:assert/strict";
import { processTimer, socketTimer, type Timer } from "../src/io/timer.ts";

const timers: Array<[string, Timer]> = [["socketTimer", socketTimer], [
  "processTimer",
  processTimer,
]];

/**
 * Runs `test` with the process held alive, as a chart's sockets hold it:
 * in Deno, socketTimer's waits do not.
 */
async function held(test: () => Promise<void>): Promise<void> {
  const hold = setInterval(() => {}, 1_000);
  try {
    await test();
  } finally {
    clearInterval(hold);
  }
}

for (const [name, timer] of timers) {
  Deno.test(`${name} fires once, no sooner than its delay`, () =>
    held(async () => {
      const armed = performance.now();
      let fired = 0;
      const firedAt = await new Promise<number>((resolve) =>
        timer(20, () => {
          fired++;
          resolve(performance.now());
        })
      );
      // The clock's reading is rounded: a hair of slack.
      assert.ok(firedAt - armed >= 19.5, `fired after ${firedAt - armed} ms`);
      // A timer armed after it, for later, fires after it: the first does not fire again.
      await new Promise<void>((resolve) => timer(30, resolve));
      assert.equal(fired, 1);
    }));

  Deno.test(`${name} never fires once cancelled`, () =>
    held(async () => {
      let fired = false;
      const cancel = timer(5, () => fired = true);
      cancel();
      cancel();
      // Fires after the cancelled one would have.
      await new Promise<void>((resolve) => timer(40, resolve));
      cancel();
      assert.equal(fired, false);
    }));

  Deno.test(`${name} fires after the code that armed it, for a delay of 0 or less`, () =>
    held(async () => {
      for (const delay of [0, -5]) {
        let fired = false;
        const firing = new Promise<void>((resolve) =>
          timer(delay, () => {
            fired = true;
            resolve();
          })
        );
        await Promise.resolve();
        assert.equal(fired, false, "fired within the task that armed it");
        await firing;
      }
    }));
}

Deno.test("in Deno, socketTimer does not keep the process alive; processTimer does", async () => {
  const module = JSON.stringify(new URL("../src/io/timer.ts", import.meta.url).href);
  const run = async (timer: string) => {
    const script = `import { ${timer} } from ${module};
      ${timer}(300, () => console.log("fired"));`;
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
    }).output();
    assert.equal(code, 0);
    return new TextDecoder().decode(stdout).trim();
  };
  assert.equal(await run("socketTimer"), "");
  assert.equal(await run("processTimer"), "fired");
});
