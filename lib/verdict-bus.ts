import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../lambdas/core/contracts/pipeline';

/** Props of {@link VerdictBus}. */
export interface VerdictBusProps {
  /** @default 'sandtrap' */
  readonly busName?: string;
}

/** The custom event bus that carries `Sample Verdict` and `Sample Analysis Failed` events. */
export class VerdictBus extends Construct {
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string, props: VerdictBusProps = {}) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: props.busName ?? EVENT_SOURCE });
  }
}
