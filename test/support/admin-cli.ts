import { execFile } from 'node:child_process';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node bin/ebb-admin.js …` as an operator runs it; asynchronous, since the local stack lives in this process. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const options = { cwd: REPO_ROOT, timeout: 20_000, env: { ...process.env, ...env } };
    execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'ebb-admin.js'), ...args], options, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}
