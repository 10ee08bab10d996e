import type { EventSink } from '@cluster-lab/core';
import type { NodeFacts } from '../node-facts.js';
import type { ServiceContext } from '../node-services.js';

/**
 * Events from inside a step (packages report their own sub-steps) become debug log lines, so the
 * progress output has exactly one line per boot step.
 */
export function nestedEvents(sink: EventSink): EventSink {
  return (event) => {
    if (event.type === 'step-finished')
      sink({ type: 'log', level: 'debug', message: `${event.title}: ${event.detail ?? 'done'} (${event.durationMs} ms)` });
    else if (event.type === 'step-failed') sink({ type: 'log', level: 'debug', message: `${event.title} failed: ${event.error.message}` });
    else if (event.type !== 'step-started' && event.type !== 'step-skipped') sink(event);
  };
}

/** The context of the service calls of one `start` or `stop` of `node`. */
export function serviceContext(
  node: NodeFacts,
  options: { signal?: AbortSignal; onEvent?: EventSink; clusterDown?: boolean } = {},
): ServiceContext {
  return {
    node,
    signal: options.signal ?? new AbortController().signal,
    onEvent: nestedEvents(options.onEvent ?? (() => {})),
    ...(options.clusterDown ? { clusterDown: true } : {}),
  };
}
