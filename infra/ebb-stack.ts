import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { resolveConfig, type EbbConfig } from '../protocol/config';
import { Tables, type TableKey } from '../lambdas/adapters/table-definitions';
import { EbbTables, type EbbTablesProps } from './tables';
import { EbbWebSocketApi, type EbbWebSocketApiOptions } from './websocket-api';

/** Context key holding the operator's config, `context.ebb` in cdk.json (DESIGN §3). */
export const CONFIG_CONTEXT_KEY = 'ebb';

export interface EbbStackProps extends StackProps {
  /**
   * The resolved config.
   * @default - `context.ebb` of the app, resolved with `resolveConfig` (throws `ConfigError` naming the bad key)
   */
  readonly config?: EbbConfig;

  /**
   * @default - see `EbbTablesProps`
   */
  readonly tables?: EbbTablesProps;

  /**
   * @default - see `EbbWebSocketApiOptions`
   */
  readonly webSocketApi?: EbbWebSocketApiOptions;
}

/** Everything one ebb deployment needs: its tables and the WebSocket API in front of its handlers. */
export class EbbStack extends Stack {
  readonly config: EbbConfig;
  readonly tables: EbbTables;
  readonly webSocketApi: EbbWebSocketApi;

  constructor(scope: Construct, id: string, props: EbbStackProps = {}) {
    super(scope, id, { description: 'ebb: serverless end-to-end-encrypted messaging', ...props });
    this.config = props.config ?? configFromContext(this);

    this.tables = new EbbTables(this, 'Tables', props.tables);
    this.webSocketApi = new EbbWebSocketApi(this, 'WebSocket', {
      ...props.webSocketApi,
      tables: this.tables.tables,
      config: this.config,
    });

    new CfnOutput(this, 'WebSocketUrl', { value: this.webSocketApi.url, description: 'URL clients connect to' });
    new CfnOutput(this, 'CallbackUrl', { value: this.webSocketApi.callbackUrl, description: 'Management API of the stage' });
    for (const key of Object.keys(Tables) as TableKey[]) {
      new CfnOutput(this, `${Tables[key].id}TableName`, {
        value: this.tables.table(key).tableName,
        description: `Deployed name of the ${key} table (${Tables[key].envVar})`,
      });
    }
  }
}

/**
 * The app's `context.ebb`, merged over the defaults and validated.
 * @throws ConfigError naming every offending key, e.g. `ebb.retentionDays: must be at least 1`.
 */
export function configFromContext(scope: Construct): EbbConfig {
  return resolveConfig(scope.node.tryGetContext(CONFIG_CONTEXT_KEY));
}
