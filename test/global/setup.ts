import { startRunLogs } from './log-capture';

export default function globalSetup(): void {
  startRunLogs();
}
