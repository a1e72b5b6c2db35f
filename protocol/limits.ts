/** Limits of the wire, shared by the server, the local emulator and the SDK. */
export const Limits = {
  /** API Gateway WebSocket frame size: larger frames close the connection. */
  maxFrameBytes: 32 * 1024,
  /** API Gateway WebSocket message size (a message may span several frames). */
  maxMessageBytes: 128 * 1024,
  /** Idle connections are closed after 10 minutes, every connection after 2 hours. */
  idleTimeoutMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
  /** Highest `maxCiphertextBytes` an operator may configure: one ciphertext, base64url, still fits a frame. */
  ciphertextBytesCeiling: 22 * 1024,
  /** Devices addressed by one `send` frame. */
  maxDevicesPerSend: 16,
  /**
   * Device copies one `fanout` frame may ask for (ARCH §6.11). The 32 KB frame is the tighter bound for a
   * large ciphertext: the SDK fills a frame by bytes and by this count, and sends the same ciphertext and id
   * again in as many frames as the recipients need. 256 is about what fits beside a short message when every
   * recipient carries a delivery token (~120 bytes each), and keeps one Lambda's work bounded (~770 writes).
   */
  maxFanoutDevicesPerFrame: 256,
  /** Entries in one `ack`, one `fetch` page and one `keys.publish`. */
  maxAckBatch: 100,
  maxFetchPage: 100,
  maxPrekeysPerPublish: 100,
  /** A fetch page stops adding messages once its ciphertext reaches this many base64url characters. */
  fetchPageChars: 96 * 1024,
  /** Allowed distance between a connect request's timestamp and the server clock. */
  connectSkewMs: 60 * 1000,
  /** A report's reason, in characters. */
  maxReportReasonChars: 500,
  /**
   * Highest device number (two digits in the connect query). Numbers are never reused (ARCH §4.6), so an account
   * links at most `maxDevice − 1` devices in its lifetime; it has at most `maxDevicesAtOnce` at any one time.
   */
  maxDevice: 99,
  /** The most devices an operator may allow an account at once (`maxDevicesPerAccount`), device 1 included. */
  maxDevicesAtOnce: 16,
  /** A linked device's sealed name, in base64url characters. */
  maxDeviceNameChars: 256,
  /** How long a link item waits for the new device to fetch its provision (ARCH §4.6). */
  linkTtlMs: 10 * 60 * 1000,
  /** A delivery token (ARCH §6.6): random bytes the SDK makes and hands to everyone it writes to. */
  deliveryTokenBytes: 32,
  /** A Web Push endpoint URL, in characters: the push services' own are a few hundred. */
  maxPushEndpointChars: 1024,
  /** An FCM registration token, in characters (about 160 today). */
  maxPushTokenChars: 512,
  /**
   * The highest `maxAttachmentBytes` an operator may configure: 4 GiB, so the ciphertext of the largest file
   * (protocol/attachments.ts maxAttachmentObjectBytes) still fits one S3 PUT, which takes at most 5 GiB.
   */
  attachmentBytesCeiling: 4 * 1024 ** 3,
  /** Origins in `webOrigins`. */
  maxWebOrigins: 20,
} as const;
