/**
 * AWS list prices, us-east-1, on-demand, from the pages cited beside each figure; entered by hand on
 * 2026-11-26 (the bench does not fetch them). Check them before relying on a figure: AWS changes prices.
 * The cost model in cost.ts multiplies the operations the bench counts by these.
 */
export const Prices = {
  apiGateway: {
    /** WebSocket messages, per million, first 1 billion a month; billed in 32 KB units.
     *  https://aws.amazon.com/api-gateway/pricing/ (WebSocket APIs) */
    messagesPerMillion: 1.0,
    /** Connection minutes, per million. Same page. */
    connectionMinutesPerMillion: 0.25,
  },
  lambda: {
    /** arm64 compute, per GB-second (first 7.5 billion GB-s a month).
     *  https://aws.amazon.com/lambda/pricing/ */
    arm64PerGbSecond: 0.0000133334,
    /** Requests, per million. Same page. */
    requestsPerMillion: 0.2,
  },
  dynamodb: {
    /** On-demand write request units, per million (after the November 2024 price reduction).
     *  https://aws.amazon.com/dynamodb/pricing/on-demand/ */
    writeRequestUnitsPerMillion: 0.625,
    /** On-demand read request units, per million. Same page. */
    readRequestUnitsPerMillion: 0.125,
  },
  sqs: {
    /** Standard queue requests, per million (each SendMessage, ReceiveMessage or DeleteMessageBatch, per 64 KB chunk).
     *  https://aws.amazon.com/sqs/pricing/ */
    standardRequestsPerMillion: 0.4,
  },
  sns: {
    /** Mobile push notifications delivered (APNs, FCM), per million.
     *  https://aws.amazon.com/sns/pricing/ */
    mobilePushPerMillion: 0.5,
    /** API requests (Publish, CreatePlatformEndpoint), per million, past the first million a month. Same page. */
    requestsPerMillion: 0.5,
  },
  secretsManager: {
    /** API calls, per 10 000 (the franking keyring is read at most once per 5 minutes per warm Lambda).
     *  https://aws.amazon.com/secrets-manager/pricing/ */
    apiCallsPer10k: 0.05,
  },
} as const;

export type PriceList = typeof Prices;
