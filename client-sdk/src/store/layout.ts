/** The keys the SDK writes to its KeyStore, in one place so the layout stays readable. */
export const StoreKeys = {
  identity: 'identity',
  /** Present once the server confirmed registration: from then on `pk` is left out of the connect URL. */
  registered: 'account/registered',
  nextPrekeyId: 'prekeys/next-id',
  signedPrekey: (keyId: number) => `prekeys/signed/${keyId}`,
  oneTimePrekey: (keyId: number) => `prekeys/one-time/${keyId}`,
  peer: (userId: string) => `peers/${userId}`,
  seenPrefix: 'seen/',
  /** Keyed by sender as well: ids are chosen by senders, so only (sender, id) is unique. */
  seen: (userId: string, messageId: string) => `seen/${userId}/${messageId}`,
} as const;
