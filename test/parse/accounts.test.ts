import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isSweepError } from '../../src/errors.js';
import {
  loadAccountMaps,
  parseAccounts,
  parseGroup,
  parsePasswd,
} from '../../src/parse/interpret/accounts.js';

const corpusFile = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/corpus/accounts/${name}`, import.meta.url));

describe('parsePasswd / parseGroup', () => {
  it('maps uids and gids of a well-formed file and skips nothing', () => {
    const text =
      'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
    const passwd = parsePasswd(text);
    expect([...passwd.names]).toEqual([
      [0, 'root'],
      [65534, 'nobody'],
    ]);
    expect(passwd).toMatchObject({ skipped: 0, malformed: 0 });
    expect(parseGroup('sudo:x:27:alice,bob\ndevops:x:4100:\n').names.get(4100)).toBe('devops');
  });

  it('skips comments, blank and malformed lines and counts them', () => {
    const text = [
      '# a comment',
      '',
      '   ',
      'root:x:0:0:root:/root:/bin/bash',
      'short:x:12',
      'badid:x:12a:0::/:/bin/sh',
      'negative:x:-1:0::/:/bin/sh',
      'huge:x:4294967296:0::/:/bin/sh',
      ':x:5:0::/:/bin/sh',
      '+nisuser::::::',
      'alice:x:4001:4001:Alice:/home/alice:/bin/bash\r',
      'root2:x:0:0:dup:/root:/bin/sh',
    ].join('\n');
    const passwd = parsePasswd(text);
    expect([...passwd.names]).toEqual([
      [0, 'root'],
      [4001, 'alice'],
    ]);
    expect(passwd.malformed).toBe(6);
    expect(passwd.skipped).toBe(9);
  });

  it('tolerates a file without a final newline and CRLF line ends', () => {
    const group = parseGroup('root:x:0:\r\nadm:x:4:reviewer');
    expect([...group.names]).toEqual([
      [0, 'root'],
      [4, 'adm'],
    ]);
    expect(group.skipped).toBe(0);
  });

  it('combines passwd and group text into AccountMaps', () => {
    const { maps, passwd, group } = parseAccounts(
      '# empty passwd is fine too\n',
      'root:x:0:\nsudo:x:27:\nnogroup:x:65534:\n',
    );
    expect(maps.users.size).toBe(0);
    expect(maps.groups.get(27)).toBe('sudo');
    expect(passwd.skipped).toBe(1);
    expect(group.malformed).toBe(0);
  });
});

describe('loadAccountMaps', () => {
  it('loads the corpus passwd and group files', async () => {
    const maps = await loadAccountMaps(corpusFile('passwd'), corpusFile('group'));
    expect(maps.users.size).toBe(27);
    expect(maps.users.get(0)).toBe('root');
    expect(maps.users.get(102)).toBe('sshd');
    expect(maps.users.get(65534)).toBe('nobody');
    expect(maps.users.get(4001)).toBeUndefined(); // test accounts were deleted before the files were copied
    expect(maps.groups.size).toBe(50);
    expect(maps.groups.get(27)).toBe('sudo');
    expect(maps.groups.get(42)).toBe('shadow');
  });

  it('rejects with FILE_UNREADABLE when a file is missing', async () => {
    const missing = corpusFile('no-such-file');
    const err = await loadAccountMaps(corpusFile('passwd'), missing).catch((e: unknown) => e);
    expect(isSweepError(err) && err.code).toBe('FILE_UNREADABLE');
    expect(String((err as Error).message)).toContain('no-such-file');
  });
});
