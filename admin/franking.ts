import { randomBytes as cryptoRandomBytes, randomUUID } from 'node:crypto';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Command } from 'commander';
import { KeyringError, parseKeyring, rotateKeyring, serializeKeyring, type Keyring } from '../lambdas/adapters/franking-keys';
import { StackOutputs } from '../infra/outputs';
import { loadConfig } from './config';
import { AdminError } from './errors';
import type { Io } from './io';
import { relativeTime } from '../shared/relative-time';
import { addTargetOptions, describeStack, type TargetOptions } from './target';

const DAY_MS = 86_400_000;
/** How long a warm Lambda keeps its copy of the keyring (`KeyringFrankingKeys`' default cache). */
const KEYRING_CACHE_MINUTES = 5;

/** One key the keyring still holds after the rotation: its id and dates, never the key itself. */
export interface AcceptedKey {
  readonly kid: string;
  readonly current: boolean;
  /** When it stopped being current; null for the current key. */
  readonly retiredAt: string | null;
  /** Until when reports of messages it tagged are verified; null for the current key. */
  readonly acceptedUntil: string | null;
}

/** `ebb-admin franking rotate --json`. */
export interface RotateReport {
  readonly stackName: string;
  readonly region: string;
  readonly secretArn: string;
  readonly configFile: string;
  readonly retentionDays: number;
  readonly at: string;
  readonly previous: string;
  readonly current: string;
  /** Newest first. */
  readonly accepted: AcceptedKey[];
  /** Kids retired longer than `retentionDays` ago, removed by this rotation. */
  readonly dropped: string[];
}

interface RotateOptions extends TargetOptions {
  readonly config: string;
  readonly json?: boolean;
}

/** `ebb-admin franking rotate`: the server's franking keys (ARCH §9.3). */
export function registerFrankingCommands(program: Command, io: Io): void {
  const franking = program.command('franking').description('the server keys that tag messages so reports can be verified');
  addTargetOptions(
    franking
      .command('rotate')
      .description("make a new franking key current in a deployed stack's keyring; former keys still verify reports for retentionDays")
      .addHelpText(
        'after',
        [
          '',
          `Reads the secret named by the stack output ${StackOutputs.frankingSecretArn}, writes the rotated keyring back with`,
          'PutSecretValue, and prints key ids only, never a key. Warm functions tag with the new key within',
          `${KEYRING_CACHE_MINUTES} minutes. Only for --stack: a local stack keeps its keyring in the \`npm start\` process.`,
        ].join('\n'),
      ),
  )
    .option('--config <file>', 'cdk.json (its context.ebb) or a JSON file holding the ebb object, for retentionDays', 'cdk.json')
    .option('--json', 'machine-readable output')
    .action(async (options: RotateOptions) => {
      const report = await rotateFranking(options, Date.now());
      io.out(options.json ? JSON.stringify(report, null, 2) : renderRotate(report));
    });
}

/**
 * Reads the stack's keyring secret, rotates it (a fresh 32-byte key from the system CSPRNG becomes current,
 * keys retired longer than the config's `retentionDays` ago are dropped) and writes it as a new version.
 * @throws AdminError for a local target, a missing stack or output, a bad config, or a keyring that does not parse.
 */
export async function rotateFranking(
  options: RotateOptions,
  nowMs: number,
  randomBytes: (n: number) => Uint8Array = (n) => new Uint8Array(cryptoRandomBytes(n)),
): Promise<RotateReport> {
  if (options.dynamodbEndpoint !== undefined) {
    throw new AdminError(
      'franking rotate works on a deployed stack (--stack NAME) only: a local stack keeps its keyring in memory in the `npm start` process; restarting it starts a new keyring',
    );
  }
  if (options.stack === undefined) throw new AdminError('say which deployment: --stack NAME (franking rotate has no local form)');
  const { config, file } = loadConfig(options.config);
  const stack = await describeStack(options.stack, options.region);
  const secretArn = stack.outputs.find((output) => output.OutputKey === StackOutputs.frankingSecretArn)?.OutputValue;
  if (!secretArn)
    throw new AdminError(`stack ${options.stack} has no output ${StackOutputs.frankingSecretArn}: is it an ebb stack, deployed by this version?`);

  const secrets = new SecretsManagerClient({ region: stack.region });
  try {
    const stored = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (typeof stored.SecretString !== 'string') throw new AdminError(`secret ${secretArn} has no string value: not a franking keyring`);
    const before = parseStored(stored.SecretString, secretArn);
    const after = rotateKeyring(before, randomBytes, nowMs, config.retentionDays);
    // A token per rotation: an SDK retry of this call is then one new version, not two.
    await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: serializeKeyring(after), ClientRequestToken: randomUUID() }));
    return {
      stackName: options.stack,
      region: stack.region,
      secretArn,
      configFile: file,
      retentionDays: config.retentionDays,
      at: new Date(nowMs).toISOString(),
      previous: before.current,
      current: after.current,
      accepted: acceptedKeys(after, config.retentionDays),
      dropped: [...before.keys.keys()].filter((kid) => !after.keys.has(kid)),
    };
  } finally {
    secrets.destroy();
  }
}

function parseStored(text: string, secretArn: string): Keyring {
  try {
    return parseKeyring(text);
  } catch (error) {
    // KeyringError messages name the fault, never a key.
    if (error instanceof KeyringError) throw new AdminError(`secret ${secretArn}: ${error.message}; left unchanged`);
    throw error;
  }
}

function acceptedKeys(keyring: Keyring, retentionDays: number): AcceptedKey[] {
  return [...keyring.keys.keys()]
    .sort((a, b) => Number(b.slice(1)) - Number(a.slice(1)))
    .map((kid) => {
      const retiredAt = kid === keyring.current ? undefined : keyring.retired.get(kid);
      return {
        kid,
        current: kid === keyring.current,
        retiredAt: retiredAt === undefined ? null : new Date(retiredAt).toISOString(),
        acceptedUntil: retiredAt === undefined ? null : new Date(retiredAt + retentionDays * DAY_MS).toISOString(),
      };
    });
}

export function renderRotate(report: RotateReport): string {
  const nowMs = Date.parse(report.at);
  const lines = [
    `franking keyring of stack ${report.stackName} (${report.region}) rotated: ${report.previous} -> ${report.current}`,
    `  current      ${report.current}`,
    '  accepted for reports',
  ];
  for (const key of report.accepted) {
    lines.push(
      key.current
        ? `    ${key.kid}  current`
        : `    ${key.kid}  retired ${key.retiredAt}, accepted until ${key.acceptedUntil} (${relativeTime(Date.parse(key.acceptedUntil!), nowMs)})`,
    );
  }
  if (report.dropped.length > 0) lines.push(`  dropped      ${report.dropped.join(', ')} (retired more than ${report.retentionDays} days ago)`);
  lines.push(
    `  retention    ${report.retentionDays} days, from ${report.configFile}`,
    `  warm functions tag new messages with ${report.current} within ${KEYRING_CACHE_MINUTES} minutes`,
  );
  return lines.join('\n');
}
