// The AWS SDK warns on every client construction under Node 20; tests run on Node 20 by design.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY = 'true';
// Local stacks started without a logger write their handler logs here; test/global/teardown.ts checks them all.
if (process.env.EBB_LOG_DIR && !process.env.EBB_LOG_FILE) process.env.EBB_LOG_FILE = `${process.env.EBB_LOG_DIR}/${process.pid}.jsonl`;
