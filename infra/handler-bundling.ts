/**
 * How every Lambda handler is bundled (esbuild through NodejsFunction): minified CJS for the Node.js 22
 * runtime, without the AWS SDK v3, which that runtime ships (bundling it would only grow cold starts).
 * The benchmark measures bundle sizes and cold starts with these same options.
 */
export const HANDLER_BUNDLING = {
  minify: true,
  sourceMap: false,
  target: 'node22',
  externalModules: ['@aws-sdk/*'],
} as const;
