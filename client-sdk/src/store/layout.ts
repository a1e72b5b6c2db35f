/** The keys the SDK writes to its KeyStore, in one place so the layout stays readable. */
export const StoreKeys = {
  /** JSON of this device's secrets: device 1's two seeds, or a linked device's own seed and account keys (identity/identity.ts). */
  identity: 'identity',
  /**
   * The URL of the deployment that confirmed registration: connecting there leaves `pk` out of the
   * connect URL. Another URL (an account moved to a new operator) sends `pk` again, so it can register.
   */
  registered: 'account/registered',
  /** JSON number[]: this account's devices that receive messages, as last listed (session/devices.ts). */
  ownDevices: 'account/devices',
  /** Present while an archive is being written into the store: a store holding it is half-imported. */
  importing: 'archive/importing',
  nextPrekeyId: 'prekeys/next-id',
  /** JSON `{ keyId, createdAt }` of the signed prekey the server currently hands out. */
  currentSignedPrekey: 'prekeys/signed-current',
  /** JSON `{ secretKey, createdAt, retiredAt }`: kept for a grace period after rotation. */
  signedPrekeyPrefix: 'prekeys/signed/',
  signedPrekey: (keyId: number) => `prekeys/signed/${keyId}`,
  /** `1` for an X3DH ephemeral key answered without a one-time prekey; deleted with its signed prekey. */
  usedBaseKeyPrefix: (signedKeyId: number) => `prekeys/used-base/${signedKeyId}/`,
  usedBaseKey: (signedKeyId: number, baseKey: string) => `prekeys/used-base/${signedKeyId}/${baseKey}`,
  /** base64url secret key; deleted once a session built on it is stored. */
  oneTimePrekey: (keyId: number) => `prekeys/one-time/${keyId}`,
  /** JSON `{ token, publishedTo }`: this account's delivery token and the deployment holding its hash (session/delivery-tokens.ts). */
  deliveryToken: 'account/delivery-token',
  /** JSON `{ token, sentAt }`: the delivery token the peer's latest message carried. */
  peerDeliveryToken: (userId: string) => `delivery-tokens/${userId}`,
  /** JSON: verified signing and identity keys, devices, and an unaccepted new identity key. */
  peer: (userId: string) => `peers/${userId}`,
  /** JSON `{ current, previous }` Double Ratchet sessions with one peer device. */
  sessionPrefix: (userId: string) => `sessions/${userId}/`,
  /** Sessions made under another value are never sent on again (Sessions.reset); absent means ''. */
  sessionEpoch: 'session-epoch',
  session: (userId: string, device: number) => `sessions/${userId}/${device}`,
  seenPrefix: 'seen/',
  /** Keyed by sender as well: ids are chosen by senders, so only (sender, id) is unique. */
  seen: (userId: string, messageId: string) => `seen/${userId}/${messageId}`,
  /** The last sequence number this device gave a message to the peer device (session/ordering.ts). */
  sentSeq: (userId: string, device: number) => `order/sent/${userId}/${device}`,
  /** The sequence number expected next from the peer device. */
  expectedSeq: (userId: string, device: number) => `order/expected/${userId}/${device}`,
  /** JSON of a received message held back until the ones before it arrive or are given up on. */
  heldPrefix: 'order/held/',
  held: (userId: string, device: number, seq: number) => `order/held/${userId}/${device}/${seq}`,
  reportablePrefix: 'reportable/',
  /**
   * JSON of a received message kept for report() until it expires (session/reportables.ts). Keyed by
   * sender as well: a second account reusing a message id must not overwrite the first sender's record.
   */
  reportable: (userId: string, messageId: string) => `reportable/${userId}/${messageId}`,
  /** The serialized state of a group this device is in (groups/state.ts), by group id. */
  groupPrefix: 'groups/state/',
  group: (groupId: string) => `groups/state/${groupId}`,
  /** Set once a linked device asked the account's other devices for its groups (groups/wiring.ts). */
  groupsSynced: 'groups/synced',
  /**
   * JSON `{ key, seq, rotate }`: this device's own sender key's chain state in a group (groups/distribution.ts),
   * rewritten by every group message. Versions before the split also held `sentTo` here; still read, and
   * moved to `ownSenderKeySent` on the record's next write.
   */
  ownSenderKeyPrefix: 'groups/own-key/',
  ownSenderKey: (groupId: string) => `groups/own-key/${groupId}`,
  /** JSON `{ keyId, sentTo }`: the member devices sent that key's distribution; only counts for that key id. */
  ownSenderKeySent: (groupId: string) => `groups/own-sent/${groupId}`,
  /** JSON `{ current, previous }` sender-key states of one member device in a group. */
  memberSenderKeyPrefix: (groupId: string) => `groups/member-key/${groupId}/`,
  memberSenderKey: (groupId: string, userId: string, device: number) => `groups/member-key/${groupId}/${userId}/${device}`,
  /** The group a member device's sender key (by key id) belongs to: group messages name no group in the clear. */
  senderKeyIndex: (userId: string, device: number, keyId: number) => `groups/key-index/${userId}/${device}/${keyId}`,
  /** Where SDK versions before sender-keyed records kept them; still read, never written. */
  legacyReportable: (messageId: string) => `reportable/${messageId}`,
} as const;
