export * from './base64url';
export * from './config';
export * from './connect';
export * from './errors';
export * from './frames';
export * from './franking';
export { describeIssues } from './issues';
export * from './limits';
export * from './sunset';
