// The dashboard's counts of the last hour, kept up to date event by event: an object's rows are added when it
// is read and taken away when it goes (rewritten, erased) or as its minutes leave the window. So a tick costs
// the rows that arrived or left since the last one, not the hour. Events are counted once each however many
// copies the lake holds (Firehose delivers at least once: the copies are one event delivered again), and
// visitors once per minute, page, country and bot reason, as Athena's views count them.
import { CountMap } from '../functions/shared/count-map.js';
import type { MinuteFigure } from './snapshot.js';

/** Bits of ObjectRows.flags. */
export const HAS_VISITOR = 1;
export const IDENTIFIED = 2;

/** A column of strings as codes into the object's own dictionary (-1 for NULL). */
export interface Coded {
  codes: Int32Array;
  names: string[];
}

/**
 * One object's rows, a typed array per column: about 37 bytes an event. The ids are DuckDB's 64-bit hash()
 * of them, as two 32-bit words (collisions among an hour's ids are negligible).
 */
export interface ObjectRows {
  rows: number;
  oldestMinute: number;
  newestMinute: number;
  /** Minutes since the epoch. */
  minute: Int32Array;
  /** hash(message_id), its high and low word for each row in turn; the same for the visitor. */
  message: Uint32Array;
  visitor: Uint32Array;
  flags: Uint8Array;
  page: Coded;
  country: Coded;
  bot: Coded;
  /** The plan's event and its violations, joined by NUL. */
  plan: Coded;
}

export function code(values: readonly unknown[]): Coded {
  const codes = new Int32Array(values.length);
  const names: string[] = [];
  const index = new Map<string, number>();
  values.forEach((value, row) => {
    if (value === null || value === undefined) {
      codes[row] = -1;
      return;
    }
    const name = String(value);
    let known = index.get(name);
    if (known === undefined) {
      known = names.push(name) - 1;
      index.set(name, known);
    }
    codes[row] = known;
  });
  return { codes, names };
}

/** What a (what, visitor) pair counts, in the low 3 bits of its key's first word. */
const enum Dimension {
  All = 0,
  Minute = 1,
  Page = 2,
  Country = 3,
  Bot = 4,
  /** A visitor's anonymous events: the stitched count sums them over the linked devices. */
  Anonymous = 5,
  Violation = 6,
}

interface KeyCount<K> {
  name: K;
  events: number;
  visitors: number;
}

/**
 * Events and distinct visitors by a key (a minute, a page, a country, ...). A key has a number while it has
 * events; (number, what) and the visitor are the pair's key in `pairs`, whose count is the visitor's events.
 */
class Tally<K extends string | number> {
  private readonly index = new Map<K, number>();
  private readonly events: number[] = [];
  private readonly visitors: number[] = [];
  private readonly free: number[] = [];

  constructor(
    private readonly what: Dimension,
    private readonly pairs: CountMap,
  ) {}

  count(name: K, sign: 1 | -1, hasVisitor: boolean, high: number, low: number): void {
    let key = this.index.get(name);
    if (key === undefined) {
      if (sign < 0) return;
      key = this.free.pop() ?? this.events.length;
      this.index.set(name, key);
      this.events[key] = 0;
      this.visitors[key] = 0;
    }
    this.events[key]! += sign;
    if (hasVisitor && this.pairs.change(key * 8 + this.what, high, low, sign) === (sign > 0 ? 1 : 0)) this.visitors[key]! += sign;
    if (this.events[key] === 0) {
      this.index.delete(name);
      this.free.push(key);
    }
  }

  /** The visitor's events under this name. */
  eventsOf(name: K, high: number, low: number): number {
    const key = this.index.get(name);
    return key === undefined ? 0 : this.pairs.get(key * 8 + this.what, high, low);
  }

  get(name: K): KeyCount<K> {
    const key = this.index.get(name);
    return { name, events: key === undefined ? 0 : this.events[key]!, visitors: key === undefined ? 0 : this.visitors[key]! };
  }

  /** The keys with their counts, sorted, the first `limit`. */
  top(compare: (a: KeyCount<K>, b: KeyCount<K>) => number, limit = Infinity): KeyCount<K>[] {
    return [...this.index.keys()].map((name) => this.get(name)).sort(compare).slice(0, limit);
  }
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface WindowFigures {
  /** Minutes of the window that have events, oldest first. */
  minutes: MinuteFigure[];
  topPages: { page: string; views: number; visitors: number }[];
  /** People's events and visitors by the country of their IP (bots left out), most visitors first. */
  countries: { country: string; events: number; visitors: number }[];
  /** People's events whose IP no database places (private, reserved or unknown). */
  unlocatedEvents: number;
  /** Bots' events and visitors by why they were flagged (schemas/enriched bot_reason). */
  bots: { reason: string; events: number; visitors: number }[];
  /** Events the tracking plans flagged (schemas/enriched plan_violations), and the commonest violations. */
  flaggedEvents: number;
  violations: { event: string; violation: string; events: number }[];
  /** Anonymous events of the last hour (no userId), and those from a device linked to a user (stitched). */
  anonymousEvents: number;
  stitchedEvents: number;
  eventsLastHour: number;
  visitorsLastHour: number;
}

export class WindowCounts {
  /** Copies of each event (first word 0, then hash(message_id)). */
  private readonly messages = new CountMap();
  private readonly pairs = new CountMap();
  /** The devices of the identity links (first word 0, then hash(anonymous_id)). */
  private devices = new CountMap();
  private readonly all = new Tally<0>(Dimension.All, this.pairs);
  private readonly minutes = new Tally<number>(Dimension.Minute, this.pairs);
  private readonly pages = new Tally<string>(Dimension.Page, this.pairs);
  private readonly countries = new Tally<string>(Dimension.Country, this.pairs);
  private readonly bots = new Tally<string>(Dimension.Bot, this.pairs);
  private readonly anonymous = new Tally<0>(Dimension.Anonymous, this.pairs);
  private readonly plans = new Tally<string>(Dimension.Violation, this.pairs);
  private unlocated = 0;
  private flagged = 0;
  private stitched = 0;

  /** Adds (1) or takes away (-1) the object's rows whose minute is in [from, to). */
  change(rows: ObjectRows, sign: 1 | -1, from = -Infinity, to = Infinity): void {
    const { minute, message, visitor, flags, page, country, bot, plan } = rows;
    for (let i = 0; i < rows.rows; i++) {
      const m = minute[i]!;
      if (m < from || m >= to) continue;
      // An event counts while it has a copy: from its first copy added to its last one taken away.
      if (this.messages.change(0, message[i * 2]!, message[i * 2 + 1]!, sign) !== (sign > 0 ? 1 : 0)) continue;
      const hasVisitor = (flags[i]! & HAS_VISITOR) !== 0;
      const high = visitor[i * 2]!;
      const low = visitor[i * 2 + 1]!;
      this.all.count(0, sign, hasVisitor, high, low);
      this.minutes.count(m, sign, hasVisitor, high, low);
      if (page.codes[i]! >= 0) this.pages.count(page.names[page.codes[i]!]!, sign, hasVisitor, high, low);
      if (bot.codes[i]! >= 0) this.bots.count(bot.names[bot.codes[i]!]!, sign, hasVisitor, high, low);
      else if (country.codes[i]! >= 0) this.countries.count(country.names[country.codes[i]!]!, sign, hasVisitor, high, low);
      else this.unlocated += sign;
      if (plan.codes[i]! >= 0) {
        this.flagged += sign;
        this.plans.count(plan.names[plan.codes[i]!]!, sign, false, 0, 0);
      }
      if ((flags[i]! & IDENTIFIED) === 0) {
        this.anonymous.count(0, sign, hasVisitor, high, low);
        if (hasVisitor && this.devices.get(0, high, low) > 0) this.stitched += sign;
      }
    }
  }

  /** The identity links' devices (hash() of each as two words) changed: the stitched events are summed again. */
  linkDevices(devices: [high: number, low: number][]): void {
    this.devices = new CountMap(devices.length * 2);
    this.stitched = 0;
    for (const [high, low] of devices) {
      if (this.devices.change(0, high, low, 1) === 1) this.stitched += this.anonymous.eventsOf(0, high, low);
    }
  }

  figures(limits: { pages: number; countries: number; violations: number }): WindowFigures {
    const violations = new Map<string, { event: string; violation: string; events: number }>();
    for (const { name, events } of this.plans.top(() => 0)) {
      const [event = '', list = ''] = name.split('\0');
      for (const violation of new Set(list.split('; '))) {
        const entry = violations.get(`${event}\0${violation}`) ?? { event, violation, events: 0 };
        entry.events += events;
        violations.set(`${event}\0${violation}`, entry);
      }
    }
    const all = this.all.get(0);
    return {
      minutes: this.minutes.top((a, b) => a.name - b.name).map(({ name, events, visitors }) => ({ t: name * 60, events, visitors })),
      topPages: this.pages
        .top((a, b) => b.events - a.events || byName(a.name, b.name), limits.pages)
        .map(({ name, events, visitors }) => ({ page: name, views: events, visitors })),
      countries: this.countries
        .top((a, b) => b.visitors - a.visitors || b.events - a.events || byName(a.name, b.name), limits.countries)
        .map(({ name, events, visitors }) => ({ country: name, events, visitors })),
      unlocatedEvents: this.unlocated,
      bots: this.bots.top((a, b) => b.events - a.events || byName(a.name, b.name)).map(({ name, events, visitors }) => ({ reason: name, events, visitors })),
      flaggedEvents: this.flagged,
      violations: [...violations.values()]
        .sort((a, b) => b.events - a.events || byName(a.event, b.event) || byName(a.violation, b.violation))
        .slice(0, limits.violations),
      anonymousEvents: this.anonymous.get(0).events,
      stitchedEvents: this.stitched,
      eventsLastHour: all.events,
      visitorsLastHour: all.visitors,
    };
  }
}
