import { DeleteCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountRecord, Usernames } from '../../core/ports';
import { toAccount, updateAccount } from './accounts';
import { isConditionFailure, putIfAbsent } from './shared';

/**
 * The usernames table, and the username attributes of account items (`accounts`: the accounts table).
 * `name` is a DynamoDB reserved word, hence `#n` throughout.
 */
export class DynamoUsernames implements Usernames {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly accounts: string,
  ) {}

  async noteClaims(userId: string, entries: readonly string[]): Promise<boolean> {
    return this.update(userId, 'ADD usernameClaims :e', { ':e': new Set(entries) }, 'attribute_exists(uid) AND attribute_not_exists(deleting)');
  }

  async commitName(userId: string, username: string, entry: string, token: string | null): Promise<boolean> {
    return this.update(
      userId,
      token === null ? 'SET username = :u REMOVE usernameToken' : 'SET username = :u, usernameToken = :t',
      { ':u': username, ':e': entry, ...(token !== null && { ':t': token }) },
      'contains(usernameClaims, :e) AND attribute_not_exists(deleting)',
    );
  }

  async retireClaims(userId: string, entries: readonly string[], whileCommitted: string): Promise<boolean> {
    return this.update(
      userId,
      'DELETE usernameClaims :e ADD usernameReleasing :e',
      { ':e': new Set(entries), ':t': whileCommitted },
      'usernameToken = :t',
    );
  }

  async forgetClaims(userId: string, entries: readonly string[]): Promise<void> {
    if (entries.length === 0) return;
    // DELETE from string sets; an emptied set is removed by DynamoDB itself.
    await this.update(userId, 'DELETE usernameClaims :e, usernameReleasing :e', { ':e': new Set(entries) });
  }

  /** The mark, then a strongly consistent read: it sees every claim noted before the mark. */
  async closeAccount(userId: string, at: number): Promise<AccountRecord | undefined> {
    if (!(await this.update(userId, 'SET deleting = if_not_exists(deleting, :at)', { ':at': at }))) return undefined;
    const out = await this.db.send(new GetCommand({ TableName: this.accounts, Key: { uid: userId }, ConsistentRead: true }));
    return out.Item ? toAccount(out.Item) : undefined;
  }

  private update(userId: string, expression: string, values: Record<string, unknown>, condition?: string): Promise<boolean> {
    return updateAccount(this.db, this.accounts, userId, expression, values, condition);
  }

  async claim(name: string, userId: string, token?: string): Promise<boolean> {
    const item = { name, uid: userId, ...(token !== undefined && { token }) };
    // Without a token a claim the user already holds is made again; with one, only a free name is taken.
    return putIfAbsent(this.db, this.table, item, 'name', token === undefined ? { condition: 'uid = :u', values: { ':u': userId } } : undefined);
  }

  async holder(name: string): Promise<string | undefined> {
    return (await this.claimOf(name))?.userId;
  }

  async claimOf(name: string): Promise<{ userId: string; token: string | null } | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { name }, ConsistentRead: true }));
    if (!out.Item) return undefined;
    return { userId: out.Item.uid as string, token: typeof out.Item.token === 'string' ? out.Item.token : null };
  }

  async release(name: string, userId: string, token?: string | null): Promise<void> {
    const byToken = token === undefined ? '' : token === null ? ' AND attribute_not_exists(#t)' : ' AND #t = :t';
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { name },
          ConditionExpression: `uid = :u${byToken}`,
          ...(token !== undefined && { ExpressionAttributeNames: { '#t': 'token' } }),
          ExpressionAttributeValues: { ':u': userId, ...(typeof token === 'string' && { ':t': token }) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
