import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import nacl from 'tweetnacl';
import type { ReceivedMessage } from '../../client-sdk/src';
import type { ReportDetail } from '../../admin/reports';
import { safeFileName } from '../../admin/attachments';
import { sdkSuite } from '../support/local-stack';
import { inbox, until } from '../support/sdk';
import { runCli, runInProcess } from '../support/admin-cli';

/**
 * Issue #16 §5: a reported message's attachments are verifiable by the operator. `reports show ID
 * --save-attachments DIR` fetches each from the bucket, opens it with the key the report revealed, checks it
 * against the digest the franking commitment covers, and writes the file; the list never shows them.
 */

const env = sdkSuite();
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ebb-admin-attachments-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const stored = () => env.stack.s3.objects(env.stack.s3Bucket);
const target = () => ['--dynamodb-endpoint', env.stack.dynamodbEndpoint, '--s3-endpoint', env.stack.s3Endpoint];

/** Alice sends Bob `files`; Bob reports the message; the report's id and the files as sent. */
async function reported(files: { name: string; type: string; data: Uint8Array }[]): Promise<{ reportId: string; message: ReceivedMessage }> {
  const alice = await env.connected();
  const bob = await env.connected();
  const messages = inbox(bob);
  await alice.send(bob.userId, 'see attached', { attachments: files });
  await until(() => messages.length === 1, 'the message to arrive', 15_000);
  const { reportId } = await bob.report(messages[0]!, 'abusive picture');
  return { reportId, message: messages[0]! };
}

describe('ebb-admin reports show --save-attachments against a local stack', () => {
  it('writes each attachment, verified against the commitment, and says so', async () => {
    const photo = nacl.randomBytes(150_000);
    const note = nacl.randomBytes(10);
    const { reportId } = await reported([
      { name: 'cat.jpg', type: 'image/jpeg', data: photo },
      { name: '../../etc/passwd', type: 'text/plain', data: note },
    ]);
    const run = await runInProcess('reports', 'show', reportId, ...target(), '--save-attachments', dir, '--json');
    expect([run.status, run.stderr]).toEqual([0, '']);
    const detail = JSON.parse(run.stdout) as ReportDetail;
    expect(detail.attachments).toEqual([
      { id: expect.any(String), name: 'cat.jpg', type: 'image/jpeg', size: photo.length },
      { id: expect.any(String), name: '../../etc/passwd', type: 'text/plain', size: 10 },
    ]);
    expect(detail.saved?.map((a) => [a.status, a.file && path.basename(a.file)])).toEqual([
      ['saved', '1-cat.jpg'],
      ['saved', '2-passwd'],
    ]);
    // No key or digest in what the operator's terminal or scripts get.
    expect(run.stdout).not.toMatch(/"key"|"digest"/);
    expect(readdirSync(dir).sort()).toEqual(['1-cat.jpg', '2-passwd']);
    expect(Buffer.from(readFileSync(path.join(dir, '1-cat.jpg'))).equals(Buffer.from(photo))).toBe(true);
    expect(Buffer.from(readFileSync(path.join(dir, '2-passwd'))).equals(Buffer.from(note))).toBe(true);

    const people = await runCli(['reports', 'show', reportId, ...target()]);
    expect(people.stdout).toContain('  attachment   1. "cat.jpg", image/jpeg, 150000 B: (--save-attachments DIR fetches and checks it)');
  });

  it('writes nothing for an object altered in storage, or gone, and exits 1 naming each', async () => {
    const { reportId, message } = await reported([
      { name: 'a.bin', type: 'application/octet-stream', data: nacl.randomBytes(100_000) },
      { name: 'b.bin', type: 'application/octet-stream', data: nacl.randomBytes(1000) },
      { name: 'c.bin', type: 'application/octet-stream', data: nacl.randomBytes(1000) },
    ]);
    const [a, b] = message.attachments!;
    const object = stored().find((o) => o.key === a!.id)!;
    const bytes = readFileSync(object.file);
    bytes[bytes.length - 100]! ^= 0x01;
    writeFileSync(object.file, bytes);
    await env.stack.ports.attachmentObjects.remove([b!.id]);

    const run = await runInProcess('reports', 'show', reportId, ...target(), '--save-attachments', dir);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      '1. "a.bin", application/octet-stream, 100000 B: NOT SAVED: the stored object does not match what the sender committed to',
    );
    expect(run.stdout).toContain('2. "b.bin", application/octet-stream, 1000 B: NOT SAVED: no longer stored (expired or purged)');
    expect(run.stdout).toContain('3. "c.bin", application/octet-stream, 1000 B: verified, saved as');
    expect(run.stderr).toContain('2 attachments not saved: "a.bin" altered, "b.bin" missing');
    expect(readdirSync(dir)).toEqual(['3-c.bin']);
  });

  it('never lists attachments, refuses --save-attachments without the bucket, and never overwrites a file', async () => {
    const { reportId } = await reported([{ name: 'x.txt', type: 'text/plain', data: new TextEncoder().encode('hello') }]);
    const list = await runInProcess('reports', 'list', ...target(), '--json');
    expect(list.stdout).not.toContain('x.txt');
    expect(list.stdout).not.toContain('attachments');

    const noBucket = await runInProcess('reports', 'show', reportId, '--dynamodb-endpoint', env.stack.dynamodbEndpoint, '--save-attachments', dir);
    expect(noBucket.status).toBe(1);
    expect(noBucket.stderr).toContain('--save-attachments needs the attachments bucket');

    writeFileSync(path.join(dir, '1-x.txt'), 'mine');
    const clash = await runInProcess('reports', 'show', reportId, ...target(), '--save-attachments', dir);
    expect(clash.status).toBe(1);
    expect(readFileSync(path.join(dir, '1-x.txt'), 'utf8')).toBe('mine');
    expect(existsSync(path.join(dir, '1-x.txt'))).toBe(true);
  });
});

describe('GIVEN a sender-chosen file name', () => {
  test.each([
    ['cat.jpg', 'cat.jpg'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Windows\\evil.exe', 'evil.exe'],
    ['.bashrc', 'bashrc'],
    ['..', 'attachment'],
    ['a\u202egnp.exe', 'a_gnp.exe'],
    ['photo: 1/2', '2'],
    ['résumé 2027.pdf', 'résumé 2027.pdf'],
  ])('THEN %j is written as %j', (name, file) => {
    expect(safeFileName(name)).toBe(file);
  });
});
