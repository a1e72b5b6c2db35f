import * as z from 'zod/mini';
import { Rid, SignedPrekey, OneTimePrekey } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `keys.publish`; parsed at the edge by its route. */
export const KeysPublishFrame = z
  .object({
    action: z.literal('keys.publish'),
    rid: Rid,
    signedPrekey: z.optional(SignedPrekey),
    oneTimePrekeys: z.optional(
      z.array(OneTimePrekey).check(
        z.maxLength(Limits.maxPrekeysPerPublish),
        // One BatchWriteItem stores them: DynamoDB refuses a batch that names one key twice.
        z.refine((keys) => new Set(keys.map((k) => k.keyId)).size === keys.length, 'must not name a keyId twice'),
      ),
    ),
  })
  .check(
    z.refine((f) => f.signedPrekey !== undefined || (f.oneTimePrekeys?.length ?? 0) > 0, {
      message: 'needs signedPrekey or oneTimePrekeys',
    }),
  );
