import * as v from 'valibot';
import { Rid } from '../fields';

/** What a client sends for `push.unregister`: forget this device's push subscription (ARCH §6.13). */
export const PushUnregisterFrame = v.object({ action: v.literal('push.unregister'), rid: Rid });
