import * as z from 'zod/mini';
import { Rid } from '../fields';

/** What a client sends for `push.unregister`: forget this device's push subscription (ARCH §6.13). */
export const PushUnregisterFrame = z.object({ action: z.literal('push.unregister'), rid: Rid });
