export { LocalS3, type BucketSettings, type LocalS3Options } from './endpoint';
export type { CorsRule } from './cors';
export type { LifecycleRule } from './lifecycle';
export { S3Actions, type S3Action, type S3Credentials, type S3Grant, type S3Principal } from './policy';
export type { StoredObject } from './store';
