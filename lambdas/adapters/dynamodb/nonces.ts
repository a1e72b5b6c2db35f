import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Nonces } from '../../core/ports';
import { orExpired, putIfAbsent } from './shared';

export class DynamoNonces implements Nonces {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claim(key: string, expiresAt: number, nowMs: number): Promise<boolean> {
    return putIfAbsent(this.db, this.table, { nonce: key, expiresAt }, 'nonce', orExpired(nowMs));
  }
}
