import type { Action } from './frames';

/**
 * Every client action, in the order of `ClientFrames`. Its own module, so code that only names the actions
 * (the `$default` route) builds none of the frame schemas.
 */
export const Actions = [
  'hello',
  'status',
  'register',
  'keys.publish',
  'keys.count',
  'keys.bundle',
  'send',
  'fetch',
  'ack',
  'username.set',
  'username.lookup',
  'account.delete',
  'report',
  'deliveryToken.set',
  'device.add',
  'link.fetch',
  'devices.list',
  'device.remove',
  'fanout',
  'push.register',
  'push.unregister',
  'attachment.upload',
  'attachment.download',
] as const satisfies readonly Action[];
