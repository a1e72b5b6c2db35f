import type { Action, ServiceStatus } from '../../protocol/frames';
import { Limits } from '../../protocol/limits';
import { Phases, phaseAt, scheduleFromConfig, type Phase } from '../../protocol/sunset';
import type { Ports } from './ports';
import { Refusal } from './refusal';

export function currentPhase(ports: Pick<Ports, 'config' | 'clock'>): Phase {
  return phaseAt(scheduleFromConfig(ports.config.sunset), ports.clock.now());
}

export function serviceStatus(ports: Pick<Ports, 'config' | 'clock' | 'push'>): ServiceStatus {
  const now = ports.clock.now();
  const schedule = scheduleFromConfig(ports.config.sunset);
  const vapidPublicKey = ports.push.vapidPublicKey();
  return {
    phase: phaseAt(schedule, now),
    schedule,
    limits: {
      maxCiphertextBytes: ports.config.maxCiphertextBytes,
      retentionDays: ports.config.retentionDays,
      maxDevicesPerSend: Limits.maxDevicesPerSend,
      maxFanoutDevicesPerFrame: Limits.maxFanoutDevicesPerFrame,
      maxGroupSize: ports.config.maxGroupSize,
      maxFrameBytes: Limits.maxFrameBytes,
      maxAttachmentBytes: ports.config.maxAttachmentBytes,
    },
    serverTime: now,
    ...(vapidPublicKey !== null && { push: { vapidPublicKey } }),
  };
}

/**
 * Answered in every phase: `status` so the service can always say why, and `account.delete` and
 * `push.unregister` because they only remove data, and a user who wants theirs gone should not have to wait
 * for the purge.
 */
const ANSWERED_WHEN_SHUT_DOWN: ReadonlySet<Action> = new Set<Action>(['status', 'account.delete', 'push.unregister']);

interface Closing {
  readonly phase: Phase;
  readonly code: 'SIGNUPS_CLOSED' | 'SERVICE_READ_ONLY';
  readonly message: string;
}

/** ARCH §10.2 as data: from which phase on an action is refused before shutdown, and how. */
const CLOSED_FROM: Partial<Record<Action, Closing>> = {
  register: { phase: 'signups-closed', code: 'SIGNUPS_CLOSED', message: 'signups are closed' },
  send: { phase: 'read-only', code: 'SERVICE_READ_ONLY', message: 'the service is read-only: messages can be fetched but not sent' },
  fanout: { phase: 'read-only', code: 'SERVICE_READ_ONLY', message: 'the service is read-only: messages can be fetched but not sent' },
  'device.add': { phase: 'read-only', code: 'SERVICE_READ_ONLY', message: 'the service is read-only: devices can no longer be linked' },
  'push.register': { phase: 'read-only', code: 'SERVICE_READ_ONLY', message: 'the service is read-only: nothing new is sent to wake a device for' },
  'username.set': { phase: 'read-only', code: 'SERVICE_READ_ONLY', message: 'the service is read-only: usernames can be looked up but not set' },
  'attachment.upload': {
    phase: 'read-only',
    code: 'SERVICE_READ_ONLY',
    message: 'the service is read-only: attachments can be downloaded but not uploaded',
  },
};

/** Throws the refusal ARCH §10.2 gives `action` in the current phase. */
export function requirePhaseAllows(ports: Pick<Ports, 'config' | 'clock'>, action: Action): void {
  if (ANSWERED_WHEN_SHUT_DOWN.has(action)) return;
  const phase = currentPhase(ports);
  if (phase === 'shut-down') throw new Refusal('SERVICE_SHUT_DOWN', 'the service has shut down; only status is answered');
  const closing = CLOSED_FROM[action];
  if (closing && Phases.indexOf(phase) >= Phases.indexOf(closing.phase)) throw new Refusal(closing.code, closing.message);
}
