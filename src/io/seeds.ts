/**
 * Keeps a chart's seeds resolved: an address seed is used as it is; a DNS
 * name's A and AAAA records go with the seed's port (the discovery port by
 * default), and its SRV records with their own ports. Names are resolved
 * again as the schedule of `core/seeds.ts` says (their TTL within 5 to 60 s),
 * so that members that join or leave DNS are followed; a failure is reported
 * to the error handler and tried again, never fatal. Seeds that stay silent
 * are reported once per silence.
 *
 * Deno resolves with `Deno.resolveDns` (which gives no TTL), Node.js with
 * `node:dns`'s `Resolver` (which does, for A and AAAA records).
 *
 * @module
 */

import { formatHostPort, parseAddress, type SeedTarget } from "../core/address.ts";
import {
  MIN_RESOLVE_PERIOD,
  resolveDelay,
  retryDelay,
  type SeedAddress,
  type SeedSet,
} from "../core/seeds.ts";
import { DiscoveryError } from "../errors.ts";
import { listAddresses } from "./interfaces.ts";

/** A seed as the user wrote it, and what it points to. */
export interface Seed extends SeedTarget {
  /** The text the user wrote, for messages. */
  text: string;
}

/** A name server to ask instead of the system's resolver. */
export interface NameServer {
  /** Its address. */
  address: string;
  /** Its port. */
  port: number;
}

/** What {@linkcode SeedResolver.start} needs. */
export interface SeedResolverOptions {
  /** The seeds. */
  seeds: readonly Seed[];
  /** The port of seeds that name none, and of our own discovery socket. */
  discoveryPort: number;
  /** Where what the seeds resolve to is kept. */
  set: SeedSet;
  /** The name server; the system's resolver when absent. */
  nameServer?: NameServer;
  /** How long a seed may be silent before it is reported, in ms. */
  silentAfter: number;
  /** Called with the addresses that became seeds, to announce to them at once. */
  onAdded(added: SeedAddress[]): void;
  /** Called with resolution failures and silent seeds. */
  onError(error: Error): void;
}

/** The most SRV targets of one name that are resolved. */
const MAX_SRV_TARGETS = 64;
/** How long one DNS query may take, in ms. */
const QUERY_TIMEOUT = 5_000;

/** The records of one query. */
interface Answer<T> {
  records: T[];
  /** The shortest TTL, in seconds, when the resolver gives TTLs. */
  ttl?: number;
}

/** An SRV record: where an instance listens. */
interface Srv {
  target: string;
  port: number;
}

/** A DNS resolver, as the seeds need one. */
interface Dns {
  addresses(name: string, family: 4 | 6): Promise<Answer<string>>;
  srv(name: string): Promise<Answer<Srv>>;
}

/** Whether a DNS error says the name or the record type does not exist. */
function isNotFound(error: unknown): boolean {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  if (deno?.errors?.NotFound && error instanceof deno.errors.NotFound) return true;
  const code = (error as { code?: string })?.code;
  return code === "ENOTFOUND" || code === "ENODATA" || code === "NXDOMAIN";
}

/**
 * The resolver of this runtime, asking `nameServer` when given; `closed`
 * cancels the queries under way.
 */
function runtimeDns(nameServer: NameServer | undefined, closed: AbortSignal): Dns {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  if (typeof deno?.resolveDns === "function") {
    const options = () => ({
      signal: AbortSignal.any([closed, AbortSignal.timeout(QUERY_TIMEOUT)]),
      ...(nameServer ? { nameServer: { ipAddr: nameServer.address, port: nameServer.port } } : {}),
    });
    return {
      async addresses(name, family) {
        const records: string[] = await deno.resolveDns(
          name,
          family === 4 ? "A" : "AAAA",
          options(),
        );
        return { records };
      },
      async srv(name) {
        const records: Srv[] = await deno.resolveDns(name, "SRV", options());
        return { records: records.map(({ target, port }) => ({ target, port })) };
      },
    };
  }
  // Loaded at the first query: importing node:dns costs a Deno process some 10 ms at start-up.
  let loaded: Promise<import("node:dns/promises").Resolver> | undefined;
  const load = () =>
    loaded ??= import("node:dns/promises").then(({ Resolver }) => {
      const resolver = new Resolver({ timeout: QUERY_TIMEOUT, tries: 1 });
      if (nameServer) resolver.setServers([formatHostPort(nameServer.address, nameServer.port)]);
      closed.addEventListener("abort", () => resolver.cancel(), { once: true });
      return resolver;
    });
  return {
    async addresses(name, family) {
      const resolver = await load();
      const found = family === 4
        ? await resolver.resolve4(name, { ttl: true })
        : await resolver.resolve6(name, { ttl: true });
      return {
        records: found.map((record) => record.address),
        ttl: found.length > 0 ? Math.min(...found.map((record) => record.ttl)) : undefined,
      };
    },
    async srv(name) {
      const records = await (await load()).resolveSrv(name);
      return { records: records.map(({ name, port }) => ({ target: name, port })) };
    },
  };
}

/** What resolving one name gave. */
interface Resolution {
  addresses: SeedAddress[];
  ttl?: number;
  /** The first error that was not "no such name or record", when nothing resolved. */
  failure?: unknown;
}

/** One name and its schedule. */
interface NameState {
  seed: Seed;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolving: boolean;
  lastStarted: number;
  failures: number;
}

/** Keeps the seeds of one chart resolved, until closed. */
export class SeedResolver {
  readonly #options: SeedResolverOptions;
  readonly #dns: Dns;
  readonly #names: NameState[] = [];
  #silenceTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Aborted on close: no query outlives the chart. */
  readonly #closing = new AbortController();

  private constructor(options: SeedResolverOptions) {
    this.#options = options;
    this.#dns = runtimeDns(options.nameServer, this.#closing.signal);
  }

  /**
   * Uses the address seeds at once, and starts resolving the names.
   *
   * @param options The seeds and where their addresses go.
   * @returns The resolver.
   */
  static start(options: SeedResolverOptions): SeedResolver {
    const resolver = new SeedResolver(options);
    const { seeds, set, discoveryPort } = options;
    const now = performance.now();
    set.setOwn(ownAddresses());
    for (const seed of seeds) {
      if (seed.isName) {
        resolver.#names.push({
          seed,
          timer: undefined,
          resolving: false,
          lastStarted: -Infinity,
          failures: 0,
        });
      } else {
        set.set(seed.text, [{ address: seed.host, port: seed.port ?? discoveryPort }], now);
      }
    }
    for (const state of resolver.#names) resolver.#schedule(state, 0);
    const every = Math.min(MIN_RESOLVE_PERIOD, options.silentAfter);
    resolver.#silenceTimer = setInterval(() => resolver.#checkSilence(), every);
    return resolver;
  }

  /**
   * Resolves the names again soon, at most once per 5 s each: an instance
   * no seed named reached us, and DNS may know it by now.
   */
  resolveSoon(): void {
    const now = performance.now();
    for (const state of this.#names) {
      if (state.resolving || this.#closed) continue;
      const due = state.lastStarted + MIN_RESOLVE_PERIOD;
      clearTimeout(state.timer);
      this.#schedule(state, Math.max(0, due - now));
    }
  }

  /** Stops resolving, and cancels the queries under way. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#silenceTimer);
    for (const state of this.#names) clearTimeout(state.timer);
    this.#closing.abort();
  }

  /** Resolves a name after a delay; what goes wrong is reported, never thrown. */
  #schedule(state: NameState, delay: number): void {
    state.timer = setTimeout(() => {
      this.#resolve(state).catch((error) => {
        if (!this.#closed) this.#options.onError(error as Error);
      });
    }, delay);
  }

  #checkSilence(): void {
    const { set, silentAfter, onError } = this.#options;
    // Our addresses may have changed since: our own socket is never reported, nor sent to.
    set.setOwn(ownAddresses());
    for (const { address, port } of set.silent(performance.now(), silentAfter)) {
      onError(
        new DiscoveryError(
          `Seed ${formatHostPort(address, port)} has not been heard from in ${
            Number((silentAfter / 1000).toFixed(1))
          } s: still announcing to it`,
        ),
      );
    }
  }

  async #resolve(state: NameState): Promise<void> {
    if (this.#closed) return;
    state.timer = undefined;
    state.resolving = true;
    state.lastStarted = performance.now();
    let resolution: Resolution;
    try {
      resolution = await lookUp(this.#dns, state.seed, this.#options.discoveryPort);
    } finally {
      state.resolving = false;
    }
    if (this.#closed) return;
    const { set, onAdded, onError } = this.#options;
    const { seed } = state;
    let delay: number;
    if (resolution.failure !== undefined) {
      // Not an answer: what the name resolved to before stays in use.
      state.failures++;
      delay = retryDelay(state.failures);
      onError(
        new DiscoveryError(
          `Cannot resolve seed ${JSON.stringify(seed.text)}: ${
            errorText(resolution.failure)
          }; trying again in ${delay / 1000} s`,
          { cause: resolution.failure },
        ),
      );
    } else {
      const change = set.set(seed.text, resolution.addresses, performance.now());
      if (change.added.length > 0) onAdded(change.added);
      if (change.overflow > 0) {
        onError(
          new DiscoveryError(
            `Cannot use ${change.overflow} addresses of seed ${
              JSON.stringify(seed.text)
            }: the seeds already have the most addresses a chart keeps`,
          ),
        );
      }
      if (resolution.addresses.length === 0) {
        state.failures++;
        delay = retryDelay(state.failures);
        onError(
          new DiscoveryError(
            `Cannot resolve seed ${JSON.stringify(seed.text)}: no A, AAAA or SRV records; ` +
              `trying again in ${delay / 1000} s`,
          ),
        );
      } else {
        state.failures = 0;
        delay = resolveDelay(resolution.ttl);
      }
    }
    this.#schedule(state, delay);
  }
}

/** Resolves a name: its A and AAAA records, and without a port its SRV records. */
async function lookUp(dns: Dns, seed: Seed, discoveryPort: number): Promise<Resolution> {
  const port = seed.port ?? discoveryPort;
  const addresses: SeedAddress[] = [];
  let ttl: number | undefined;
  let failure: unknown;
  let answered = false;
  const note = <T>(answer: Answer<T>) => {
    answered = true;
    if (answer.ttl !== undefined) {
      ttl = ttl === undefined ? answer.ttl : Math.min(ttl, answer.ttl);
    }
  };
  const fail = (error: unknown) => {
    if (isNotFound(error)) answered = true;
    else failure ??= error;
  };
  const byAddress = async (name: string, family: 4 | 6, port: number) => {
    try {
      const answer = await dns.addresses(name, family);
      note(answer);
      for (const address of answer.records) {
        if (parseAddress(address)) addresses.push({ address, port });
      }
    } catch (error) {
      fail(error);
    }
  };
  const bySrv = async () => {
    try {
      const answer = await dns.srv(seed.host);
      note(answer);
      const targets = answer.records
        .filter((record) => record.target !== "" && record.target !== ".")
        .slice(0, MAX_SRV_TARGETS);
      await Promise.all(
        targets.flatMap(({ target, port }) => {
          // A target may be an address itself.
          if (parseAddress(target)) {
            addresses.push({ address: target, port });
            return [];
          }
          return [byAddress(target, 4, port), byAddress(target, 6, port)];
        }),
      );
    } catch (error) {
      fail(error);
    }
  };
  await Promise.all([
    byAddress(seed.host, 4, port),
    byAddress(seed.host, 6, port),
    ...(seed.port === undefined ? [bySrv()] : []),
  ]);
  // Some answer, even "no such record", is an answer; only errors alone are a failure.
  if (addresses.length > 0 || (answered && failure === undefined)) return { addresses, ttl };
  return { addresses, failure: failure ?? new Error("no answer") };
}

/** What one seed resolves to now, for the doctor. */
export interface SeedReport {
  /** The seed. */
  seed: Seed;
  /** Its addresses: the seed itself for an address. */
  addresses: SeedAddress[];
  /** Why it did not resolve, if it did not. */
  error?: string;
}

/**
 * Resolves seeds once.
 *
 * @param seeds The seeds.
 * @param discoveryPort The port of seeds that name none.
 * @param nameServer The name server; the system's resolver when absent.
 * @returns What each resolves to.
 */
export async function resolveSeeds(
  seeds: readonly Seed[],
  discoveryPort: number,
  nameServer?: NameServer,
): Promise<SeedReport[]> {
  // Once: each query ends by its own timeout.
  const dns = runtimeDns(nameServer, new AbortController().signal);
  return await Promise.all(seeds.map(async (seed): Promise<SeedReport> => {
    if (!seed.isName) {
      return { seed, addresses: [{ address: seed.host, port: seed.port ?? discoveryPort }] };
    }
    const { addresses, failure } = await lookUp(dns, seed, discoveryPort);
    if (failure !== undefined) return { seed, addresses, error: errorText(failure) };
    if (addresses.length === 0) return { seed, addresses, error: "no A, AAAA or SRV records" };
    return { seed, addresses };
  }));
}

/** Every address of this host, of both families. */
function ownAddresses(): string[] {
  try {
    return listAddresses().map((info) => info.address);
  } catch {
    // Without the right to list them, loopback is still known to be ours.
    return [];
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
