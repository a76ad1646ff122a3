import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../lambdas/core/contracts/pipeline';

/** Props of {@link VerdictBus}. */
export interface VerdictBusProps {
  /** @default 'sandtrap' */
  readonly busName?: string;
  /**
   * A bus of the app's own (its security events bus, say) to publish on instead of a new one.
   * @default - a new bus named {@link busName}
   */
  readonly bus?: events.IEventBus;
}

/** The event bus that carries `Sample Verdict`, `Sample Analysis Failed` and the other events. */
export class VerdictBus extends Construct {
  readonly bus: events.IEventBus;

  constructor(scope: Construct, id: string, props: VerdictBusProps = {}) {
    super(scope, id);
    this.bus = props.bus ?? new events.EventBus(this, 'Bus', { eventBusName: props.busName ?? EVENT_SOURCE });
  }
}
