/**
 * The simulated network: hosts with an address on each link they are on,
 * links with their delay, jitter and loss, and the faults a scenario puts
 * in: a link or a host taken down, a link split into segments that cannot
 * hear each other. It decides what happens to a datagram; the world
 * (_sim.ts) schedules it.
 *
 * @module
 */

/**
 * How a link loses datagrams, drawn for each receiving host and datagram.
 * Bursty loss is a Gilbert–Elliott channel in continuous time: each
 * receiver's path stays good, then bad, for exponentially distributed
 * times, and loses datagrams at its state's rate.
 */
export type LossModel =
  | { kind: "none" }
  | { kind: "independent"; rate: number }
  | {
    kind: "bursty";
    /** The mean time a path stays good, in ms. */
    meanGood: number;
    /** The mean time a path stays bad, in ms. */
    meanBad: number;
    /** The loss rate while good. */
    lossGood: number;
    /** The loss rate while bad. */
    lossBad: number;
  };

/** Why a datagram did not reach an instance. */
export type DropCause =
  | "loss"
  | "link-down"
  | "host-down"
  | "partition"
  | "no-process"
  | "no-route"
  | "no-host";

/**
 * The long-run share of datagrams a loss model loses.
 *
 * @param loss The model.
 * @returns The share, in [0, 1].
 */
export function lossRate(loss: LossModel): number {
  switch (loss.kind) {
    case "none":
      return 0;
    case "independent":
      return loss.rate;
    case "bursty":
      return (loss.meanGood * loss.lossGood + loss.meanBad * loss.lossBad) /
        (loss.meanGood + loss.meanBad);
  }
}

/** What a link is like. */
export interface LinkOptions {
  /**
   * The fixed part of the one-way delay, in ms.
   *
   * @default {0.5}
   */
  delay?: number;
  /**
   * The random part: each datagram waits a further uniform [0, jitter) ms.
   *
   * @default {0.5}
   */
  jitter?: number;
  /**
   * How it loses datagrams.
   *
   * @default {{ kind: "none" }}
   */
  loss?: LossModel;
}

/** One broadcast domain: a multicast reaches the hosts on it, and no others. */
export class Link {
  readonly index: number;
  /** Its subnet's addresses start with this: `10.<index>.`. */
  readonly prefix: string;
  delay: number;
  jitter: number;
  loss: LossModel;
  up = true;
  /** The hosts' interfaces on it, in the order they were attached. */
  readonly attachments: Attachment[] = [];

  constructor(index: number, options: LinkOptions) {
    this.index = index;
    this.prefix = `10.${index}.`;
    this.delay = options.delay ?? 0.5;
    this.jitter = options.jitter ?? 0.5;
    this.loss = options.loss ?? { kind: "none" };
  }
}

/** A host's interface on a link, with its address; the core's links. */
export class Attachment {
  readonly host: Host;
  readonly link: Link;
  readonly address: string;
  /** Hosts hear each other on a link only within one segment: a split link has several. */
  segment = 0;
  up = true;
  /** The bursty channel into this host: bad or good, until when. */
  bad = false;
  burstUntil = -Infinity;

  constructor(host: Host, link: Link, address: string) {
    this.host = host;
    this.link = link;
    this.address = address;
  }
}

/** A machine: its interfaces, its wall clock, and the instances that run on it. */
export class Host {
  readonly name: string;
  readonly attachments: Attachment[] = [];
  /** How far its wall clock is from the world's, in ms; a jump changes it. */
  wallOffset = 0;
  /** The last time something cut or restored its paths, or restarted a process on it. */
  disruptedAt = -Infinity;
  /** The next free source port. */
  nextPort = 40_000;

  constructor(name: string) {
    this.name = name;
  }

  /**
   * Its interface on the subnet of an address.
   *
   * @param address An address.
   * @returns The interface, or `undefined` when the host is on no such link.
   */
  attachmentFor(address: string): Attachment | undefined {
    for (const attachment of this.attachments) {
      if (address.startsWith(attachment.link.prefix)) return attachment;
    }
    return undefined;
  }
}

/** Hosts and links, and the random draws of delay and loss. */
export class Network {
  readonly links: Link[] = [];
  readonly hosts: Host[] = [];
  readonly #byAddress = new Map<string, Attachment>();
  readonly #delays: () => number;
  readonly #losses: () => number;

  /**
   * Creates an empty network.
   *
   * @param delays The random source of jitter.
   * @param losses The random source of loss and bursts.
   */
  constructor(delays: () => number, losses: () => number) {
    this.#delays = delays;
    this.#losses = losses;
  }

  /**
   * Adds a link, with subnet 10.<index>.0.0/16.
   *
   * @param options What it is like.
   * @returns The link.
   */
  addLink(options: LinkOptions = {}): Link {
    const link = new Link(this.links.length, options);
    this.links.push(link);
    return link;
  }

  /**
   * Adds a host on some links, with the next free address on each.
   *
   * @param name Its name in the trace.
   * @param links The links it is on.
   * @returns The host.
   */
  addHost(name: string, links: readonly Link[]): Host {
    const host = new Host(name);
    for (const link of links) {
      const n = link.attachments.length + 1;
      const attachment = new Attachment(host, link, `${link.prefix}${n >> 8}.${n & 255}`);
      link.attachments.push(attachment);
      host.attachments.push(attachment);
      this.#byAddress.set(attachment.address, attachment);
    }
    this.hosts.push(host);
    return host;
  }

  /**
   * The interface that has an address.
   *
   * @param address The address.
   * @returns The interface, or `undefined`.
   */
  attachmentAt(address: string): Attachment | undefined {
    return this.#byAddress.get(address);
  }

  /**
   * Draws the delay of a datagram on a link.
   *
   * @param link The link.
   * @returns The delay in ms.
   */
  delayOn(link: Link): number {
    return link.delay + link.jitter * this.#delays();
  }

  /**
   * Whether a datagram on its way can reach an interface now, and if not,
   * why; the draw of loss comes after.
   *
   * @param segment The sender's segment when it sent.
   * @param to The receiver's interface.
   * @returns The cause of a drop, or `undefined` for a path that is open.
   */
  blocked(segment: number, to: Attachment): DropCause | undefined {
    if (!to.link.up) return "link-down";
    if (!to.up) return "host-down";
    if (to.segment !== segment) return "partition";
    return undefined;
  }

  /**
   * Draws whether a datagram to an interface is lost, at a time.
   *
   * @param to The receiver's interface.
   * @param now The time it arrives.
   * @returns `true` when it is lost.
   */
  lost(to: Attachment, now: number): boolean {
    const loss = to.link.loss;
    switch (loss.kind) {
      case "none":
        return false;
      case "independent":
        return this.#losses() < loss.rate;
      case "bursty": {
        if (to.burstUntil === -Infinity) {
          to.burstUntil = now + this.#exponential(loss.meanGood);
        }
        while (to.burstUntil <= now) {
          to.bad = !to.bad;
          to.burstUntil += this.#exponential(to.bad ? loss.meanBad : loss.meanGood);
        }
        return this.#losses() < (to.bad ? loss.lossBad : loss.lossGood);
      }
    }
  }

  /**
   * Whether two hosts share a link on which they hear each other now.
   *
   * @param a A host.
   * @param b Another.
   * @returns `true` when some path between them is open.
   */
  reachable(a: Host, b: Host): boolean {
    for (const from of a.attachments) {
      for (const to of b.attachments) {
        if (to.link === from.link && from.up && this.blocked(from.segment, to) === undefined) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Takes a link down or brings it up: everything on it is cut.
   *
   * @param link The link.
   * @param up Up or down.
   * @param now The time.
   */
  setLinkUp(link: Link, up: boolean, now: number): void {
    link.up = up;
    for (const attachment of link.attachments) attachment.host.disruptedAt = now;
  }

  /**
   * Cuts a host off every link, or connects it again.
   *
   * @param host The host.
   * @param up Connected or not.
   * @param now The time.
   */
  setHostUp(host: Host, up: boolean, now: number): void {
    for (const attachment of host.attachments) attachment.up = up;
    host.disruptedAt = now;
  }

  /**
   * Splits a link: the hosts of each group hear only each other, and those
   * in no group hear only each other too.
   *
   * @param link The link.
   * @param groups The groups of hosts.
   * @param now The time.
   */
  split(link: Link, groups: readonly (readonly Host[])[], now: number): void {
    groups.forEach((group, i) => {
      for (const host of group) {
        const attachment = host.attachments.find((a) => a.link === link);
        if (attachment) attachment.segment = i + 1;
      }
    });
    for (const attachment of link.attachments) attachment.host.disruptedAt = now;
  }

  /**
   * Joins a split link again.
   *
   * @param link The link.
   * @param now The time.
   */
  heal(link: Link, now: number): void {
    for (const attachment of link.attachments) {
      attachment.segment = 0;
      attachment.host.disruptedAt = now;
    }
  }

  #exponential(mean: number): number {
    return -mean * Math.log(1 - this.#losses());
  }
}
