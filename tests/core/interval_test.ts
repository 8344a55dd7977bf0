import assert from "node:assert/strict";
import {
  DEFAULT_RAMPDOWN,
  JITTER,
  nextInterval,
  nominalInterval,
  type Rampdown,
  validateRampdown,
} from "../../src/core/interval.ts";

Deno.test("the default ramp is the Rust crate's: 100 ms growing to 1 s over 10 s", () => {
  assert.deepEqual({ ...DEFAULT_RAMPDOWN }, { min: 100, max: 1_000, rampdown: 10_000 });
  assert.ok(Object.isFrozen(DEFAULT_RAMPDOWN));
});

Deno.test("the nominal interval is min at start and grows linearly to max", () => {
  assert.equal(nominalInterval(DEFAULT_RAMPDOWN, 0), 100);
  assert.equal(nominalInterval(DEFAULT_RAMPDOWN, 2_500), 325);
  assert.equal(nominalInterval(DEFAULT_RAMPDOWN, 5_000), 550);
  assert.equal(nominalInterval(DEFAULT_RAMPDOWN, 10_000), 1_000);
});

Deno.test("the nominal interval stays at max once the ramp is over", () => {
  for (const elapsed of [10_000, 10_001, 60_000, 1e12, Infinity]) {
    assert.equal(nominalInterval(DEFAULT_RAMPDOWN, elapsed), 1_000);
  }
});

Deno.test("the nominal interval never decreases over the ramp", () => {
  let previous = 0;
  for (let elapsed = 0; elapsed <= 12_000; elapsed += 37) {
    const interval = nominalInterval(DEFAULT_RAMPDOWN, elapsed);
    assert.ok(interval >= previous, `${interval} ms at ${elapsed} ms after ${previous} ms`);
    previous = interval;
  }
});

Deno.test("a ramp of 0 ms gives max from the start", () => {
  const ramp = { min: 100, max: 500, rampdown: 0 };
  assert.equal(nominalInterval(ramp, 0), 500);
  assert.equal(nominalInterval(ramp, 1), 500);
  assert.equal(nominalInterval(ramp, 60_000), 500);
});

Deno.test("a ramp with min equal to max keeps the interval constant", () => {
  const ramp = { min: 300, max: 300, rampdown: 5_000 };
  for (const elapsed of [0, 1_000, 4_999, 5_000, 9_000]) {
    assert.equal(nominalInterval(ramp, elapsed), 300);
  }
});

Deno.test("the next interval stays within 10% of the nominal interval", () => {
  const ramps: Rampdown[] = [DEFAULT_RAMPDOWN, { min: 1, max: 60_000, rampdown: 3_000 }];
  for (const ramp of ramps) {
    for (let elapsed = 0; elapsed <= 12_000; elapsed += 250) {
      const nominal = nominalInterval(ramp, elapsed);
      for (let i = 0; i < 1_000; i++) {
        const random = i / 1_000;
        const interval = nextInterval(ramp, elapsed, random);
        assert.ok(interval >= nominal * (1 - JITTER) - 1e-9, `${interval} below ${nominal}`);
        assert.ok(interval < nominal * (1 + JITTER), `${interval} above ${nominal}`);
      }
    }
  }
});

Deno.test("the next interval spreads over the whole ±10% as random goes from 0 to 1", () => {
  assert.equal(JITTER, 0.1);
  assert.ok(Math.abs(nextInterval(DEFAULT_RAMPDOWN, 5_000, 0) - 495) < 1e-9);
  assert.equal(nextInterval(DEFAULT_RAMPDOWN, 5_000, 0.5), 550);
  const highest = nextInterval(DEFAULT_RAMPDOWN, 5_000, 1 - Number.EPSILON);
  assert.ok(highest > 604.99 && highest <= 605, `${highest}`);
  assert.ok(Math.abs(nextInterval(DEFAULT_RAMPDOWN, 60_000, 0) - 900) < 1e-9);
});

Deno.test("validateRampdown returns a copy of a valid ramp", () => {
  const ramp = { min: 50, max: 2_000, rampdown: 7_000 };
  const copy = validateRampdown(ramp);
  assert.deepEqual(copy, ramp);
  assert.notEqual(copy, ramp);
  copy.min = 1;
  assert.equal(ramp.min, 50);
});

Deno.test("validateRampdown returns only the three durations", () => {
  const ramp = { min: 1, max: 2, rampdown: 3, extra: "dropped" } as Rampdown;
  assert.deepEqual(validateRampdown(ramp), { min: 1, max: 2, rampdown: 3 });
});

Deno.test("validateRampdown accepts min 0, min equal to max, and a ramp of 0 ms", () => {
  assert.deepEqual(validateRampdown({ min: 0, max: 1, rampdown: 0 }), {
    min: 0,
    max: 1,
    rampdown: 0,
  });
  assert.deepEqual(validateRampdown({ min: 5, max: 5, rampdown: 10 }), {
    min: 5,
    max: 5,
    rampdown: 10,
  });
});

Deno.test("validateRampdown rejects min above max with RangeError", () => {
  assert.throws(() => validateRampdown({ min: 1_001, max: 1_000, rampdown: 10 }), {
    name: "RangeError",
    message: /min 1001 ms.*max 1000 ms/,
  });
});

Deno.test("validateRampdown rejects negative durations with RangeError", () => {
  for (const key of ["min", "max", "rampdown"] as const) {
    const ramp = { min: 10, max: 100, rampdown: 1_000, [key]: -1 };
    assert.throws(() => validateRampdown(ramp), { name: "RangeError", message: /negative/ }, key);
  }
});

Deno.test("validateRampdown rejects durations that are not finite numbers with TypeError", () => {
  const bad: unknown[] = [NaN, Infinity, -Infinity, "100", undefined, null, 10n];
  for (const key of ["min", "max", "rampdown"] as const) {
    for (const value of bad) {
      const ramp = { min: 10, max: 100, rampdown: 1_000, [key]: value } as unknown as Rampdown;
      assert.throws(() => validateRampdown(ramp), TypeError, `${key} ${String(value)}`);
    }
  }
});

Deno.test("validateRampdown rejects a max of 0 ms with RangeError", () => {
  assert.throws(() => validateRampdown({ min: 0, max: 0, rampdown: 1_000 }), {
    name: "RangeError",
    message: /max 0/,
  });
});
