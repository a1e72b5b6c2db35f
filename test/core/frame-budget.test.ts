import { route as status } from '../../lambdas/handlers/status';
import { route as unknownAction } from '../../lambdas/handlers/default';
import { frameBudget } from '../../lambdas/core/frame-budget';
import { memoryWorld } from '../support/memory-ports';
import { messageEvent } from '../support/ws-event';

const frame = (connectionId: string, body = '{"action":"status","rid":"s"}') =>
  messageEvent('status', connectionId, { uid: 'u'.repeat(32), signingKey: 'k' }, body);

describe('the per-connection frame budget', () => {
  it('answers the first frame past the burst RATE_LIMITED through the management API and closes that connection only', async () => {
    const world = memoryWorld({ rateLimits: { framesPerSecond: 2, frameBurst: 4 } });
    for (let i = 0; i < 4; i++) expect(JSON.parse((await status.invoke(frame('flood'), world.ports)).body!)).toMatchObject({ type: 'result' });
    const refused = await status.invoke(frame('flood'), world.ports);
    expect(refused).toEqual({ statusCode: 200 });
    expect(world.notifier.pushes).toEqual([
      { connectionId: 'flood', frame: { type: 'error', rid: 's', code: 'RATE_LIMITED', message: expect.any(String), retryable: true } },
    ]);
    expect(world.notifier.disconnected).toEqual(['flood']);
    // Frames already on their way get the error as their reply; the connection is closed once.
    expect(JSON.parse((await unknownAction.invoke(frame('flood', 'junk'), world.ports)).body!)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(world.notifier.disconnected).toEqual(['flood']);
    // Another connection has its own budget.
    expect(JSON.parse((await status.invoke(frame('quiet'), world.ports)).body!)).toMatchObject({ type: 'result' });
  });

  it('refills at framesPerSecond on the clock', () => {
    const budget = frameBudget();
    const limits = { framesPerSecond: 10, frameBurst: 3 };
    const at = (ms: number) => budget.spend('c', limits, ms);
    expect([at(0), at(0), at(0)]).toEqual(['allowed', 'allowed', 'allowed']);
    expect(at(99)).toBe('exceeded');
    const fresh = frameBudget();
    const spend = (ms: number) => fresh.spend('c', limits, ms);
    expect([spend(0), spend(0), spend(0), spend(100), spend(200), spend(250)]).toEqual([
      'allowed',
      'allowed',
      'allowed',
      'allowed',
      'allowed',
      'exceeded',
    ]);
  });

  it('forgets connections whose bucket is full again once it holds more than its capacity, not those closing', () => {
    const budget = frameBudget(10);
    const limits = { framesPerSecond: 1, frameBurst: 1 };
    for (let i = 0; i < 10; i++) expect(budget.spend(`c${i}`, limits, 0)).toBe('allowed');
    expect(budget.spend('c1', limits, 0)).toBe('exceeded');
    expect(budget.spend('c2', limits, 0)).toBe('exceeded');
    // At 2 s every other bucket is full again: the eleventh connection makes room by forgetting them.
    expect(budget.spend('new', limits, 2000)).toBe('allowed');
    expect(budget.spend('c1', limits, 2000)).toBe('closing');
    expect(budget.spend('c3', limits, 2000)).toBe('allowed');
    expect(budget.spend('c3', limits, 2000)).toBe('exceeded');
  });
});
