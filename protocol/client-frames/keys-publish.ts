import * as v from 'valibot';
import { Rid, SignedPrekey, OneTimePrekey } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `keys.publish`; parsed at the edge by its route. */
export const KeysPublishFrame = v.pipe(
  v.object({
    action: v.literal('keys.publish'),
    rid: Rid,
    signedPrekey: v.optional(SignedPrekey),
    oneTimePrekeys: v.optional(
      v.pipe(
        v.array(OneTimePrekey),
        v.maxLength(Limits.maxPrekeysPerPublish),
        // One BatchWriteItem stores them: DynamoDB refuses a batch that names one key twice.
        v.check((keys) => new Set(keys.map((k) => k.keyId)).size === keys.length, 'must not name a keyId twice'),
      ),
    ),
  }),
  v.check((f) => f.signedPrekey !== undefined || (f.oneTimePrekeys?.length ?? 0) > 0, 'needs signedPrekey or oneTimePrekeys'),
);
