import { App } from 'aws-cdk-lib';
import { ConfigError } from '../protocol/config';
import { configFromContext, EbbStack } from './ebb-stack';

const app = new App();
try {
  // Validated before any construct exists, so a bad cdk.json fails synth with one clear line.
  const config = configFromContext(app);
  // Environment-agnostic: the same template synthesizes offline and deploys to whichever account the CLI uses.
  new EbbStack(app, 'Ebb', { config });
  app.synth();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`Invalid ebb config (context.ebb, from cdk.json or -c): ${err.message}\n`);
  process.exit(1);
}
