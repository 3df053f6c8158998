// The tracking plans in force (schemas/tracking-plans.ts), compiled once per container and checked per event: a
// track event against its event's plan, an identify against the traits plan. Events without a plan pass as
// they are. The check runs after the Segment schema, so `properties` and `traits` are objects here.
import { Ajv, type ValidateFunction } from 'ajv';
import type { SegmentEvent } from '../../schemas/index.js';
import type { TrackingPlan, TrackingPlansDocument, ViolationAction } from '../../schemas/tracking-plans.js';

export interface PlanCheck {
  /** "Order Completed 1-0-0": the plan and the version that was checked. */
  plan: string;
  action: ViolationAction;
  /** One line per violation, "<path>: <what>", e.g. "properties.revenue: must be number". Empty when it passes. */
  violations: string[];
}

/** Violations kept per event: enough to see what is wrong, bounded however broken an event is. */
export const MAX_VIOLATIONS = 10;

interface Compiled {
  plan: TrackingPlan;
  validate: ValidateFunction;
}

export class TrackingPlans {
  private readonly events = new Map<string, Compiled>();
  private readonly identify: Compiled | undefined;

  constructor(document: TrackingPlansDocument) {
    // allErrors: a plan's point is to list everything that is off, not the first thing.
    const ajv = new Ajv({ allErrors: true, strict: false });
    const compile = (plan: TrackingPlan): Compiled => {
      const { $schema: _draft, ...schema } = plan.schema;
      return { plan, validate: ajv.compile(schema) };
    };
    for (const plan of document.events) this.events.set(plan.name, compile(plan));
    this.identify = document.identify ? compile(document.identify) : undefined;
  }

  get size(): number {
    return this.events.size + (this.identify ? 1 : 0);
  }

  /** The plan's verdict on an event, or undefined when no plan covers it. */
  check(event: SegmentEvent): PlanCheck | undefined {
    const [compiled, field, value] =
      event.type === 'track'
        ? [this.events.get(event.event), 'properties', event.properties ?? {}]
        : event.type === 'identify'
          ? [this.identify, 'traits', event.traits ?? {}]
          : [undefined, '', undefined];
    if (!compiled) return undefined;
    const ok = compiled.validate(value);
    const violations = ok
      ? []
      : (compiled.validate.errors ?? []).slice(0, MAX_VIOLATIONS).map((e) => {
          const path = [field, ...e.instancePath.split('/').slice(1), ...(e.keyword === 'required' ? [String(e.params['missingProperty'])] : [])];
          const what = e.keyword === 'required' ? 'is required' : e.keyword === 'enum' ? `must be one of ${(e.params['allowedValues'] as unknown[]).join(', ')}` : (e.message ?? 'is invalid');
          return `${path.join('.')}: ${what}`;
        });
    return { plan: `${compiled.plan.name} ${compiled.plan.version}`, action: compiled.plan.action, violations };
  }
}
