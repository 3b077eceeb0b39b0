// Lines as restic 0.18.1 printed them for a snapshot of /data.
import { describe, expect, it } from 'vitest';
import { listingEntryOf } from '../snapshot-entries.ts';
import { parseLinkTargets, parseLsLine, snapshotEntryOf, unixMode, type SnapshotNode } from './snapshot-listing.ts';

const snapshot =
  '{"time":"2026-11-22T09:59:29.486205006Z","tree":"7ffda7b6","paths":["/data"],"hostname":"vm","username":"root","id":"a05c7b569a9b1b75bf3fc94ec42420238ce1e2a7ebc74affe57d23dbe8e81749","short_id":"a05c7b56","message_type":"snapshot","struct_type":"snapshot"}';
const folder =
  '{"name":"shared","type":"dir","path":"/data/shared","uid":0,"gid":2345,"mode":2151678461,"permissions":"dgrwxrwxr-x","mtime":"2024-05-05T07:09:26.122999906Z","atime":"2024-05-05T07:09:26.122999906Z","ctime":"2026-11-22T09:59:16.539038585Z","inode":10316063,"message_type":"node","struct_type":"node"}';
const file =
  '{"name":"note.txt","type":"file","path":"/data/shared/note.txt","uid":0,"gid":2345,"size":20,"mode":436,"permissions":"-rw-rw-r--","mtime":"2024-05-06T07:50:51.372999906Z","atime":"2024-05-06T07:50:51.372999906Z","ctime":"2026-11-22T09:59:16.539038585Z","inode":10316064,"message_type":"node","struct_type":"node"}';
const symlink =
  '{"name":"owned","type":"symlink","path":"/data/links/owned","uid":1234,"gid":2345,"mode":134218239,"permissions":"Lrwxrwxrwx","mtime":"2024-05-06T06:08:14.122999906Z","message_type":"node","struct_type":"node"}';

function node(line: string): SnapshotNode {
  const parsed = parseLsLine(line);
  if (parsed?.kind !== 'node') throw new Error(`not a node: ${line}`);
  return parsed.node;
}

const entry = (line: string) => snapshotEntryOf(node(line));

describe('parseLsLine', () => {
  it('reads the snapshot line for its full id', () => {
    expect(parseLsLine(snapshot)).toEqual({
      kind: 'snapshot',
      id: 'a05c7b569a9b1b75bf3fc94ec42420238ce1e2a7ebc74affe57d23dbe8e81749',
    });
  });

  it('ignores what is not a snapshot or a node', () => {
    expect(parseLsLine('snapshot a05c7b56 of [/data]')).toBeUndefined();
    expect(parseLsLine('{"message_type":"exit_error","code":1,"message":"x"}')).toBeUndefined();
  });
});

describe('unixMode', () => {
  it("moves Go's setuid, setgid and sticky bits to where chmod takes them", () => {
    expect(unixMode(436)).toBe(0o664);
    expect(unixMode(2147484141)).toBe(0o755); // a folder
    expect(unixMode(2151678461)).toBe(0o2775); // setgid folder
    expect(unixMode(2 ** 23 + 0o755)).toBe(0o4755);
    expect(unixMode(2147483648 + 2 ** 20 + 0o777)).toBe(0o1777);
    expect(unixMode(134218239)).toBe(0o777); // a symlink
  });
});

describe('snapshotEntryOf', () => {
  it('keeps the path in the snapshot, the times, and the mode as chmod takes it', () => {
    expect(snapshotEntryOf(node(folder))).toEqual({
      path: '/data/shared',
      type: 'dir',
      mode: 0o2775,
      uid: 0,
      gid: 2345,
      mtime: '2024-05-05T07:09:26.122999906Z',
      atime: '2024-05-05T07:09:26.122999906Z',
    });
  });
});

describe('listingEntryOf a restic node', () => {
  it('gives paths from the volume root and Unix modes', () => {
    expect(listingEntryOf(entry(folder), '/data')).toEqual({
      path: '/shared',
      type: 'dir',
      mode: 0o2775,
      uid: 0,
      gid: 2345,
      mtime: '2024-05-05T07:09:26.122999906Z',
    });
    expect(listingEntryOf(entry(file), '/data/')).toMatchObject({ path: '/shared/note.txt', type: 'file', size: 20 });
    expect(listingEntryOf(entry(symlink), '/data')).toMatchObject({ path: '/links/owned', type: 'symlink', uid: 1234 });
  });

  it('leaves out what is outside the volume', () => {
    expect(listingEntryOf(entry(file), '/other')).toBeUndefined();
  });

  it('calls a type it does not know irregular', () => {
    expect(listingEntryOf({ ...entry(file), type: 'door' }, '/data')).toMatchObject({ type: 'irregular' });
  });
});

describe('parseLinkTargets', () => {
  it('reads where the symlinks of a tree point', () => {
    const tree = JSON.stringify({
      nodes: [
        { name: 'absolute', type: 'symlink', linktarget: '/etc/hostname', content: null },
        { name: 'f', type: 'file', content: ['ab12'] },
        { name: 'dangling', type: 'symlink', linktarget: '../no/such/file' },
      ],
    });
    expect(parseLinkTargets(tree)).toEqual(
      new Map([
        ['absolute', '/etc/hostname'],
        ['dangling', '../no/such/file'],
      ]),
    );
    expect(parseLinkTargets('Fatal: no tree')).toBeUndefined();
  });
});
