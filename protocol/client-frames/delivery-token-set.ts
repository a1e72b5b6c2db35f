import * as v from 'valibot';
import { DeliveryToken, Rid } from '../fields';

/** What a client sends for `deliveryToken.set`: its new delivery token, of which the server keeps only a hash. */
export const DeliveryTokenSetFrame = v.object({ action: v.literal('deliveryToken.set'), rid: Rid, token: DeliveryToken });
