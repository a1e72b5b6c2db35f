import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
  DeleteConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { Logger, Notifier, PushOutcome } from '../core/ports';

/** Pushes frames through the API Gateway management API (`@connections`). */
export class GatewayNotifier implements Notifier {
  constructor(
    private readonly client: ApiGatewayManagementApiClient,
    private readonly logger: Logger,
  ) {}

  async push(connectionId: string, data: string): Promise<PushOutcome> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(data) }));
      return 'sent';
    } catch (error) {
      // SDK v3 raises GoneException by class (only when the 410 carries x-amzn-ErrorType).
      if (error instanceof GoneException) return 'gone';
      // No connection id: a send pushes to the recipient's, and a line naming it in the sender's request would
      // link the two (ARCH §12).
      this.logger.warn('push failed', { error: (error as Error).name });
      return 'failed';
    }
  }

  async disconnect(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (!(error instanceof GoneException)) throw error;
    }
  }
}
