import * as z from 'zod/mini';
import { DeliveryToken, Rid } from '../fields';

/** What a client sends for `deliveryToken.set`: its new delivery token, of which the server keeps only a hash. */
export const DeliveryTokenSetFrame = z.object({ action: z.literal('deliveryToken.set'), rid: Rid, token: DeliveryToken });
