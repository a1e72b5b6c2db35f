import { prekeyBundle } from '../core/prekeys';
import { frameRoute } from './frame-route';

/** `keys.bundle`: identity and prekeys of another user's devices; each one-time prekey goes out once. */
export const route = frameRoute('keys.bundle', prekeyBundle);
export const handler = route.handler;
