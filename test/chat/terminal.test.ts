import { PassThrough } from 'node:stream';
import { Terminal } from '../../chat/terminal';
import { until } from '../support/sdk';

/** The readline wiring on a fake terminal: streams that say they are TTYs, 80 columns wide. */
function fakeTerminal() {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const terminal = new Terminal({ input, output, error: new PassThrough() });
  return { terminal, input, printed: () => printed };
}

it('overwrites a progress line in place while it is the last line, and prints anew once another line followed', async () => {
  const { terminal, printed } = fakeTerminal();
  const settle = terminal.progress('[12:00:00] → @bob: hi  (sending…)');
  settle('[12:00:00] → @bob: hi  (sent)');
  // Back to the start of the line above the prompt, clear to the end of the screen, print the new state.
  expect(printed()).toContain('\x1b[1G\x1b[1A\x1b[0J[12:00:00] → @bob: hi  (sent)\n');

  const later = terminal.progress('[12:00:01] → @bob: 你好  (sending…)');
  terminal.line('[12:00:02] <@bob> yo  #1');
  const before = printed().length;
  later('[12:00:01] → @bob: 你好  (sent)');
  expect(printed().slice(before)).not.toContain('\x1b[1A');
  expect(printed().slice(before)).toContain('[12:00:01] → @bob: 你好  (sent)\n');
  terminal.close();
});

it('reads a passphrase without echoing it and keeps it out of the line history, then echoes again', async () => {
  const { terminal, input, printed } = fakeTerminal();
  const lines: string[] = [];
  const running = terminal.run(async (line) => {
    lines.push(line);
    if (lines.length === 1) lines.push(`secret: ${await terminal.askSecret('passphrase: ')}`);
    return line !== '/quit';
  });
  input.write('/export\r');
  await until(() => printed().includes('passphrase: '), 'the prompt');
  input.write('hunter2hunter2\r');
  await until(() => lines.length === 2, 'the passphrase');
  // Up arrow: the line before is "/export" again, not the passphrase; then typing is echoed as before.
  input.write('\x1b[A\r');
  input.write('visible\r/quit\r');
  await running;
  expect(lines).toEqual(['/export', 'secret: hunter2hunter2', '/export', 'visible', '/quit']);
  expect(printed()).not.toContain('hunter2');
  expect(printed()).toContain('visible');
});
