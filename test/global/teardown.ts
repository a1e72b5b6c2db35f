import { checkRunLogs, removeRunLogs } from './log-capture';

/** Fails the run when any handler log line of any suite carried a plaintext, a key or an unlisted field. */
export default function globalTeardown(): void {
  const dir = process.env.EBB_LOG_DIR;
  if (!dir) return;
  const report = checkRunLogs(dir);
  removeRunLogs(dir);
  if (report.problems.length > 0) {
    throw new Error(
      `handler logs of this run break the logging rules (${report.problems.length} problems):\n${report.problems.slice(0, 20).join('\n')}`,
    );
  }
  process.stdout.write(
    `\nlog hygiene: ${report.lines} handler log lines from ${report.files} worker file(s) checked, no plaintext, key or unlisted field\n`,
  );
}
