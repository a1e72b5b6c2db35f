/** The keys the SDK writes to its KeyStore, in one place so the layout stays readable. */
export const StoreKeys = {
  identity: 'identity',
  /** Present once the server confirmed registration: from then on `pk` is left out of the connect URL. */
  registered: 'account/registered',
  nextPrekeyId: 'prekeys/next-id',
  /** JSON `{ keyId, createdAt }` of the signed prekey the server currently hands out. */
  currentSignedPrekey: 'prekeys/signed-current',
  /** JSON `{ secretKey, createdAt, retiredAt }`: kept for a grace period after rotation. */
  signedPrekeyPrefix: 'prekeys/signed/',
  signedPrekey: (keyId: number) => `prekeys/signed/${keyId}`,
  /** base64url secret key; deleted once a session built on it is stored. */
  oneTimePrekey: (keyId: number) => `prekeys/one-time/${keyId}`,
  /** JSON: verified signing and identity keys, devices, and an unaccepted new identity key. */
  peer: (userId: string) => `peers/${userId}`,
  /** JSON `{ current, previous }` Double Ratchet sessions with one peer device. */
  sessionPrefix: (userId: string) => `sessions/${userId}/`,
  session: (userId: string, device: number) => `sessions/${userId}/${device}`,
  seenPrefix: 'seen/',
  /** Keyed by sender as well: ids are chosen by senders, so only (sender, id) is unique. */
  seen: (userId: string, messageId: string) => `seen/${userId}/${messageId}`,
} as const;
