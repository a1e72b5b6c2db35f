import { phaseAt, scheduleFromConfig, type Action, type Phase, type ServiceStatus } from '../../protocol';
import { Limits } from '../../protocol';
import type { Ports } from './ports';
import { Refusal } from './refusal';

export function currentPhase(ports: Pick<Ports, 'config' | 'clock'>): Phase {
  return phaseAt(scheduleFromConfig(ports.config.sunset), ports.clock.now());
}

export function serviceStatus(ports: Pick<Ports, 'config' | 'clock'>): ServiceStatus {
  const now = ports.clock.now();
  const schedule = scheduleFromConfig(ports.config.sunset);
  return {
    phase: phaseAt(schedule, now),
    schedule,
    limits: {
      maxCiphertextBytes: ports.config.maxCiphertextBytes,
      retentionDays: ports.config.retentionDays,
      maxDevicesPerSend: Limits.maxDevicesPerSend,
      maxFrameBytes: Limits.maxFrameBytes,
    },
    serverTime: now,
  };
}

/**
 * DESIGN §3: what each phase allows. `status` is always allowed; `username.set` is a write, refused from
 * read-only like `send`. `account.delete` is allowed in every phase, shut-down included: it only removes
 * data, and a user who wants theirs gone should not have to wait for the purge.
 */
export function requirePhaseAllows(ports: Pick<Ports, 'config' | 'clock'>, action: Action): void {
  if (action === 'status' || action === 'account.delete') return;
  const phase = currentPhase(ports);
  if (phase === 'shut-down') throw new Refusal('SERVICE_SHUT_DOWN', 'the service has shut down; only status is answered');
  if (action === 'register' && phase !== 'open') throw new Refusal('SIGNUPS_CLOSED', 'signups are closed');
  if (action === 'send' && phase === 'read-only') throw new Refusal('SERVICE_READ_ONLY', 'the service is read-only: messages can be fetched but not sent');
  if (action === 'username.set' && phase === 'read-only') throw new Refusal('SERVICE_READ_ONLY', 'the service is read-only: usernames can be looked up but not set');
}
