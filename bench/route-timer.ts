import type { LocalStack } from '../local';
import type { Integration } from '../local/gateway';
import { currentRoute } from './dynamo-meter';

/**
 * Times every handler invocation of a local stack, per route, and runs each inside `currentRoute` so the
 * DynamoDB meter can attribute requests. It wraps the gateway's route table and authorizer in place:
 * the emulator keeps them in its (private) options, which bench code may reach but production code never does.
 */
export class RouteTimer {
  readonly durations = new Map<string, number[]>();

  constructor(stack: LocalStack) {
    const options = (stack.gateway as unknown as { options: { routes: Map<string, Integration>; authorizer: (e: unknown) => Promise<unknown> } })
      .options;
    for (const [key, integration] of options.routes) {
      options.routes.set(key, { returnsResponse: integration.returnsResponse, invoke: (event) => this.time(key, () => integration.invoke(event)) });
    }
    const authorizer = options.authorizer;
    options.authorizer = (event) => this.time('$authorizer', () => authorizer(event));
  }

  private async time<T>(route: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await currentRoute.run(route, run);
    } finally {
      const list = this.durations.get(route) ?? this.durations.set(route, []).get(route)!;
      list.push(performance.now() - started);
    }
  }

  reset(): void {
    this.durations.clear();
  }
}
