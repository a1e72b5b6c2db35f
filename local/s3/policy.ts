import { randomBytes } from 'node:crypto';

/**
 * Who may do what on the local endpoint: each access key belongs to one principal holding grants, as
 * an IAM role's identity policy on AWS. The local stack issues one credential per Lambda from the same
 * grants infra gives that Lambda's role, so a presigned URL carries exactly its signer's permissions.
 */

/** The IAM actions the endpoint's operations need (`s3:*` is every one of them). */
export const S3Actions = [
  's3:GetObject',
  's3:PutObject',
  's3:PutObjectTagging',
  's3:GetObjectTagging',
  's3:DeleteObject',
  's3:ListBucket',
  's3:*',
] as const;
export type S3Action = (typeof S3Actions)[number];

/** Actions on one bucket, and for object actions on the keys under `prefix`. */
export interface S3Grant {
  readonly bucket: string;
  readonly actions: readonly S3Action[];
  /**
   * Object actions apply to keys starting with it (`arn:aws:s3:::bucket/prefix*`); `s3:ListBucket` to
   * listings whose `prefix` starts with it (the `s3:prefix` condition). @default '' (the whole bucket)
   */
  readonly prefix?: string;
}

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The holder of an access key: a name for logs and error messages, and its grants. */
export interface S3Principal {
  readonly name: string;
  readonly grants: readonly S3Grant[];
}

/** Access keys the endpoint accepts, each with its principal. */
export class CredentialRegistry {
  private readonly byKey = new Map<string, { readonly secretAccessKey: string; readonly principal: S3Principal }>();

  /**
   * Registers a principal and returns its credential: fresh random keys, or the ones given (the stack's
   * operator signs with the fixed local keys every local AWS client uses).
   * @throws Error when the access key id is already registered.
   */
  issue(principal: S3Principal, credentials?: S3Credentials): S3Credentials {
    const issued = credentials ?? {
      accessKeyId: `LOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
    };
    if (this.byKey.has(issued.accessKeyId)) throw new Error(`local s3: access key ${issued.accessKeyId} is already registered`);
    this.byKey.set(issued.accessKeyId, { secretAccessKey: issued.secretAccessKey, principal });
    return issued;
  }

  /** Forgets a credential: requests signed with it are refused `InvalidAccessKeyId` from then on. */
  revoke(accessKeyId: string): void {
    this.byKey.delete(accessKeyId);
  }

  lookup(accessKeyId: string): { readonly secretAccessKey: string; readonly principal: S3Principal } | undefined {
    return this.byKey.get(accessKeyId);
  }
}

/** Whether `principal` may do `action` on `key` of `bucket` (for `s3:ListBucket`, `key` is the listing's prefix). */
export function allows(principal: S3Principal, action: Exclude<S3Action, 's3:*'>, bucket: string, key: string): boolean {
  return principal.grants.some(
    (grant) => grant.bucket === bucket && (grant.actions.includes(action) || grant.actions.includes('s3:*')) && key.startsWith(grant.prefix ?? ''),
  );
}
