import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DETONATION_ENGINE, type VendorId } from '../lambdas/core/contracts/pipeline';
import { OPERATIONAL_METRICS } from '../lambdas/core/runtime/operational-metrics';
import { AlarmTopic } from './alarm-topic';
import { POWERTOOLS_METRICS } from './functions';

/** Props of {@link SandtrapOperations}. */
export interface SandtrapOperationsProps {
  readonly stateMachine: sfn.IStateMachine;
  /** The Express front: its failures and timeouts alarm on their own (no metric math: MiniStack refuses it in alarms). */
  readonly frontStateMachine?: sfn.IStateMachine;
  readonly table: dynamodb.ITable;
  /** Upload events EventBridge could not deliver to the state machine. */
  readonly triggerDeadLetterQueue: sqs.IQueue;
  /** The re-drive sweep's function. */
  readonly sweepFunction: lambda.IFunction;
  /** How often the sweep runs: its metrics' period. */
  readonly sweepRate: Duration;
  /** The vendors enabled: one queue line each on the dashboard. */
  readonly vendors: readonly VendorId[];
  /** Whether the detonation engine is deployed. */
  readonly detonation: boolean;
  /** Addresses subscribed to the alarm topic. @default none */
  readonly emails?: readonly string[];
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * How Sandtrap is run: every way an analysis can go wrong raises an alarm on one SNS topic (failed,
 * timed out and throttled executions, undeliverable upload events, uploads the sweep gave up on,
 * sweep errors, DynamoDB throttling, vendors refusing our key), and one dashboard shows verdicts by
 * result, engine latency, each vendor's queue and the detonation queue.
 */
export class SandtrapOperations extends Construct {
  /** The topic every alarm notifies (`alarms.emails` are subscribed to it). */
  readonly alarmTopic: AlarmTopic;
  readonly failedExecutionsAlarm: cloudwatch.Alarm;
  readonly timedOutExecutionsAlarm: cloudwatch.Alarm;
  readonly throttledExecutionsAlarm: cloudwatch.Alarm;
  readonly undeliveredEventsAlarm: cloudwatch.Alarm;
  readonly abandonedUploadsAlarm: cloudwatch.Alarm;
  readonly sweepErrorsAlarm: cloudwatch.Alarm;
  readonly tableThrottlingAlarm: cloudwatch.Alarm;
  readonly tableReadThrottlingAlarm: cloudwatch.Alarm;
  readonly vendorAuthFailuresAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;
  readonly frontFailedExecutionsAlarm?: cloudwatch.Alarm;
  readonly frontTimedOutExecutionsAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: SandtrapOperationsProps) {
    super(scope, id);
    this.alarmTopic = new AlarmTopic(this, 'Topic', { emails: [...(props.emails ?? [])] });
    const sum = { period: FIVE_MINUTES, statistic: 'Sum' };
    const { stateMachine } = props;
    this.failedExecutionsAlarm = this.alarmOnAny(
      'FailedExecutionsAlarm',
      'Sandtrap: an analysis execution failed (a Sample Analysis Failed event says why)',
      stateMachine.metricFailed(sum),
    );
    this.timedOutExecutionsAlarm = this.alarmOnAny(
      'TimedOutExecutionsAlarm',
      "Sandtrap: an analysis execution hit the state machine's timeout (the sweep re-drives its upload)",
      stateMachine.metricTimedOut(sum),
    );
    this.throttledExecutionsAlarm = this.alarmOnAny(
      'ThrottledExecutionsAlarm',
      'Sandtrap: Step Functions throttled the analysis state machine (StartExecution or state transitions)',
      stateMachine.metricThrottled(sum),
    );
    if (props.frontStateMachine) {
      this.frontFailedExecutionsAlarm = this.alarmOnAny(
        'FrontFailedExecutionsAlarm',
        'Sandtrap: an execution of the Express front failed (a Sample Analysis Failed event says why)',
        props.frontStateMachine.metricFailed(sum),
      );
      this.frontTimedOutExecutionsAlarm = this.alarmOnAny(
        'FrontTimedOutExecutionsAlarm',
        "Sandtrap: an execution of the Express front outlived Express's five minutes (the sweep re-drives its upload)",
        props.frontStateMachine.metricTimedOut(sum),
      );
    }
    this.undeliveredEventsAlarm = this.alarmOnAny(
      'UndeliveredEventsAlarm',
      'Sandtrap: upload events EventBridge could not deliver to the state machine are waiting in the dead-letter queue',
      props.triggerDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: FIVE_MINUTES,
        statistic: 'Maximum',
      }),
    );
    this.abandonedUploadsAlarm = this.alarmOnAny(
      'AbandonedUploadsAlarm',
      'Sandtrap: the re-drive sweep gave up on uploads after sweep.maxAttempts (its log names them)',
      this.pipelineMetric('ObjectsAbandoned', { period: props.sweepRate, statistic: 'Sum' }),
    );
    this.sweepErrorsAlarm = this.alarmOnAny(
      'SweepErrorsAlarm',
      'Sandtrap: the re-drive sweep failed; uploads without a verdict are not being re-driven',
      props.sweepFunction.metricErrors({ period: props.sweepRate, statistic: 'Sum' }),
    );
    // One plain metric per direction, not metric math over every operation: the throttle events
    // count every operation on the table, and emulators (MiniStack) refuse math in alarms.
    this.tableThrottlingAlarm = this.alarmOnAny(
      'TableThrottlingAlarm',
      'Sandtrap: DynamoDB throttled writes to the verdict table (claims, verdicts, rate-limit slots)',
      this.tableMetric(props.table, 'WriteThrottleEvents'),
    );
    this.tableReadThrottlingAlarm = this.alarmOnAny(
      'TableReadThrottlingAlarm',
      'Sandtrap: DynamoDB throttled reads of the verdict table (cached verdicts, slot frontiers)',
      this.tableMetric(props.table, 'ReadThrottleEvents'),
    );
    this.vendorAuthFailuresAlarm = this.alarmOnAny(
      'VendorAuthFailuresAlarm',
      "Sandtrap: a vendor refused our credentials (auth_failed): rotate or correct the key in the vendor's secret",
      this.pipelineMetric(OPERATIONAL_METRICS.vendorAuthFailed, sum),
    );
    this.dashboard = this.buildDashboard(props);
  }

  /** A DynamoDB table metric, summed over five minutes. */
  private tableMetric(table: dynamodb.ITable, metricName: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/DynamoDB',
      metricName,
      dimensionsMap: { TableName: table.tableName },
      period: FIVE_MINUTES,
      statistic: 'Sum',
    });
  }

  /** A metric the pipeline's functions publish with Powertools (namespace and service as PipelineFunction sets them). */
  private pipelineMetric(metricName: string, options: { period: Duration; statistic: string }): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: POWERTOOLS_METRICS.namespace,
      metricName,
      dimensionsMap: { service: POWERTOOLS_METRICS.service },
      ...options,
    });
  }

  /** An alarm that fires as soon as the metric reaches 1 in one period; no data is not a breach. */
  private alarmOnAny(id: string, description: string, metric: cloudwatch.IMetric): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic.topic));
    return alarm;
  }

  private buildDashboard(props: SandtrapOperationsProps): cloudwatch.Dashboard {
    const sum = { period: FIVE_MINUTES, statistic: 'Sum' };
    const max = { period: FIVE_MINUTES, statistic: 'Maximum' };
    const p90 = { period: FIVE_MINUTES, statistic: 'p90' };
    const verdicts = [
      ...['malicious', 'suspicious', 'benign', 'unknown'].map((verdict) =>
        this.pipelineMetric(OPERATIONAL_METRICS.verdict(verdict), sum).with({ label: verdict }),
      ),
      // Verdicts their object does not carry (its owner's tags fill S3's ten): read-blocking keeps those closed.
      this.pipelineMetric(OPERATIONAL_METRICS.objectsNotTagged, sum).with({ label: 'object not tagged' }),
    ];
    const engines = [...props.vendors, ...(props.detonation ? [DETONATION_ENGINE] : [])];
    const latency = engines.map((engine) =>
      this.pipelineMetric(OPERATIONAL_METRICS.engineSeconds(engine), p90).with({ label: `${engine} p90` }),
    );
    const vendorQueues = props.vendors.map((vendor) =>
      this.pipelineMetric(OPERATIONAL_METRICS.vendorQueueSeconds(vendor), max).with({ label: vendor }),
    );
    const widgets: cloudwatch.IWidget[] = [
      new cloudwatch.GraphWidget({ title: 'Verdicts by result', left: verdicts, stacked: true, width: 12 }),
      new cloudwatch.GraphWidget({
        title: 'Executions',
        left: [
          props.stateMachine.metricStarted(sum).with({ label: 'started' }),
          props.stateMachine.metricSucceeded(sum).with({ label: 'succeeded' }),
          props.stateMachine.metricFailed(sum).with({ label: 'failed' }),
          props.stateMachine.metricTimedOut(sum).with({ label: 'timed out' }),
        ],
        width: 12,
      }),
    ];
    if (latency.length > 0)
      widgets.push(new cloudwatch.GraphWidget({ title: 'Engine latency (s)', left: latency, width: 12 }));
    if (vendorQueues.length > 0)
      widgets.push(
        new cloudwatch.GraphWidget({
          title: 'Vendor queue: longest wait for a submission slot (s)',
          left: vendorQueues,
          width: 12,
        }),
      );
    if (props.detonation)
      widgets.push(
        new cloudwatch.GraphWidget({
          title: 'Detonation task slots',
          left: [
            this.pipelineMetric(OPERATIONAL_METRICS.detonationQueueSeconds, max).with({
              label: 'longest wait for a slot (s)',
            }),
          ],
          right: [
            this.pipelineMetric('ReserveDetonationSucceeded', sum).with({ label: 'turns reserved' }),
            this.pipelineMetric('CollectDetonationSucceeded', sum).with({ label: 'runs collected' }),
          ],
          width: 12,
        }),
      );
    return new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(24),
      widgets: [widgets],
    });
  }
}
