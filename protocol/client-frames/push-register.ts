import * as v from 'valibot';
import { Rid } from '../fields';
import { PushSubscription } from '../push';

/** What a client sends for `push.register`: this device's push subscription, replacing any earlier one (ARCH §6.13). */
export const PushRegisterFrame = v.object({ action: v.literal('push.register'), rid: Rid, subscription: PushSubscription });
