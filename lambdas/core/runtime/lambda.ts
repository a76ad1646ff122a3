import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { createClients } from './clients';
import { loadRuntimeConfig } from '../config/runtime-config';
import { faultInjectionFrom, faultsFor, InjectedFault, throttlingError, type FaultInjection } from './fault-injection';
import type { HandlerDeps } from './deps';
import { createDeps, type ConnectorFactory } from './create-deps';
import type { OperationalMetrics } from './operational-metrics';

/** A handler as the core writes it: input in, small output out. */
export type CoreHandler<I, O> = (input: I) => Promise<O>;

const logger = new Logger({ serviceName: 'sandtrap' });
const metrics = new Metrics({ namespace: 'Sandtrap', serviceName: 'sandtrap' });
const tracer = new Tracer({ serviceName: 'sandtrap' });

let deps: HandlerDeps | undefined;
let faultInjection: FaultInjection | undefined;
/** Whether the invocation in progress has its DynamoDB calls throttled (one invocation at a time per container). */
let throttling = false;

function lambdaDeps(connectors: ConnectorFactory | undefined): HandlerDeps {
  if (!deps) {
    faultInjection = faultInjectionFrom(process.env);
    const clients = createClients();
    if (faultInjection) {
      clients.ddb.middlewareStack.add(
        (next) => async (args) => {
          if (throttling) throw throttlingError();
          return next(args);
        },
        { step: 'initialize', name: 'sandtrapInjectedThrottling' },
      );
    }
    tracer.captureAWSv3Client(clients.s3);
    tracer.captureAWSv3Client(clients.ddb);
    deps = createDeps(loadRuntimeConfig(), { clients, log: logger, connectors });
  }
  return deps;
}

/**
 * Wraps a core handler for Lambda: Powertools logging with the invocation context, one metric per
 * invocation and failure, tracing of the AWS clients. Dependencies are built once per container.
 * Only vendor functions pass `connectors`, so the others do not bundle the HTTP client and connectors.
 * `metricsOf` names further metrics (counts, or seconds) read from a successful invocation.
 */
export function lambdaHandler<I, O>(
  name: string,
  factory: (deps: HandlerDeps) => CoreHandler<I, O>,
  connectors?: ConnectorFactory,
  metricsOf?: (output: O, input: I) => OperationalMetrics,
) {
  let core: CoreHandler<I, O> | undefined;
  return async (event: I, context: Context): Promise<O> => {
    logger.addContext(context);
    logger.appendKeys({ step: name });
    core ??= factory(lambdaDeps(connectors));
    const faults = faultsFor(faultInjection, name, event);
    throttling = faults.throttle;
    try {
      if (faults.crash) throw new InjectedFault(name, faults.key ?? '');
      const output = await core(event);
      metrics.addMetric(`${name}Succeeded`, MetricUnit.Count, 1);
      for (const [metric, value] of Object.entries(metricsOf?.(output, event) ?? {}))
        if (typeof value === 'number') metrics.addMetric(metric, MetricUnit.Count, value);
        else metrics.addMetric(metric, MetricUnit.Seconds, value.seconds);
      return output;
    } catch (error) {
      metrics.addMetric(`${name}Failed`, MetricUnit.Count, 1);
      logger.error(`${name} failed`, { error: (error as Error).name, message: (error as Error).message });
      throw error;
    } finally {
      throttling = false;
      metrics.publishStoredMetrics();
      logger.removeKeys(['step']);
    }
  };
}
