/** The API Gateway WebSocket event shapes ebb reads (see the recorded fixtures in test/fixtures/). */

export interface WebSocketRequestContext {
  readonly routeKey: string;
  readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  readonly connectionId: string;
  readonly requestId: string;
  readonly stage: string;
  readonly domainName: string;
  readonly apiId: string;
  readonly connectedAt: number;
  readonly requestTimeEpoch: number;
  readonly messageId?: string;
  readonly identity?: { readonly sourceIp?: string };
  /** The authorizer's context, on every event of an authorized connection. */
  readonly authorizer?: Record<string, unknown> | null;
  readonly disconnectStatusCode?: number;
  readonly disconnectReason?: string;
}

export interface WebSocketEvent {
  readonly requestContext: WebSocketRequestContext;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly queryStringParameters?: Record<string, string | undefined> | null;
}

export interface AuthorizerRequestEvent {
  readonly type: 'REQUEST';
  readonly methodArn: string;
  readonly queryStringParameters?: Record<string, string | undefined> | null;
  readonly headers?: Record<string, string | undefined> | null;
  readonly requestContext: WebSocketRequestContext;
}

export interface AuthorizerResult {
  readonly principalId: string;
  readonly policyDocument: {
    readonly Version: '2012-10-17';
    readonly Statement: readonly { readonly Action: string; readonly Effect: 'Allow' | 'Deny'; readonly Resource: string }[];
  };
  readonly context?: Record<string, string>;
}

export interface WebSocketResponse {
  readonly statusCode: number;
  readonly body?: string;
}
