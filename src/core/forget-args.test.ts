import { describe, expect, it } from 'vitest';
import { rulesFromPolicy } from './forget-args.ts';

const H = 3_600_000;
const D = 86_400_000;
const use =
  'use --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly (or -l, -H, -d, -w, -m, -y), --keep-within or --keep-within-hourly/-daily/-weekly/-monthly/-yearly';

describe('rulesFromPolicy: the keep* fields', () => {
  it.each([
    [{}, {}],
    [
      { keepDaily: 7, keepWeekly: 4, keepMonthly: 3 },
      { daily: 7, weekly: 4, monthly: 3 },
    ],
    [
      { keepLast: 3, keepHourly: 24, keepYearly: -1, keepWithin: '1h30m' },
      { last: 3, hourly: 24, yearly: -1, within: 90 * 60_000 },
    ],
    [{ keepWithin: '2w' }, { within: 14 * D }],
    [
      { keepDaily: 0, keepWithin: '0s' },
      { daily: 0, within: 0 },
    ],
  ])('%j', (retention, rules) => {
    expect(rulesFromPolicy(retention)).toEqual({ rules });
  });

  it.each([
    [{ keepDaily: -2 }, 'spec.retention.keepDaily: needs a whole number (or -1 for unlimited), got -2'],
    [{ keepWeekly: 1.5 }, 'spec.retention.keepWeekly: needs a whole number (or -1 for unlimited), got 1.5'],
    [{ keepWithin: '30 days' }, 'spec.retention.keepWithin: "30 days" is not a duration such as 30d, 1h30m, 2w'],
    [{ keepWithin: '1y' }, 'spec.retention.keepWithin: "1y" is not a duration such as 30d, 1h30m, 2w'],
  ])('refuses %j', (retention, error) => {
    expect(rulesFromPolicy(retention)).toEqual({ error });
  });
});

describe('rulesFromPolicy: restic forget arguments', () => {
  const args = (forgetArgs: string[]) => rulesFromPolicy({ forgetArgs });

  it('uses them instead of the keep* fields', () => {
    expect(rulesFromPolicy({ keepDaily: 7, keepWithin: '30d', forgetArgs: ['-w', '4'] })).toEqual({
      rules: { weekly: 4 },
    });
    expect(rulesFromPolicy({ keepDaily: 7, forgetArgs: [] })).toEqual({ rules: {} });
  });

  it.each([
    [['--keep-daily', '7', '--keep-weekly=4', '-m', '3'], { daily: 7, weekly: 4, monthly: 3 }],
    [['--keep-last', '3'], { last: 3 }],
    [['--keep-last=3'], { last: 3 }],
    [['-l', '3'], { last: 3 }],
    [['-l3'], { last: 3 }],
    [['-l=3'], { last: 3 }],
    [['--keep-hourly', '24'], { hourly: 24 }],
    [['-H', '24'], { hourly: 24 }],
    [['--keep-daily', '7'], { daily: 7 }],
    [['-d', '7'], { daily: 7 }],
    [['--keep-weekly', '4'], { weekly: 4 }],
    [['-w', '4'], { weekly: 4 }],
    [['--keep-monthly', '12'], { monthly: 12 }],
    [['-m', '12'], { monthly: 12 }],
    [['--keep-yearly', '-1'], { yearly: -1 }],
    [['-y', '-1'], { yearly: -1 }],
    [['--keep-yearly=-1'], { yearly: -1 }],
    [['--keep-daily', '0'], { daily: 0 }],
    [['--keep-within', '30d'], { within: 30 * D }],
    [['--keep-within=2h'], { within: 2 * H }],
    [['--keep-within', '1y5m7d2h'], { within: 365 * D + 5 * 30 * D + 7 * D + 2 * H }],
    [['--keep-within', '2h1d'], { within: D + 2 * H }],
    [['--keep-within', '30m'], { within: 30 * 30 * D }],
    [['--keep-within-hourly', '2d'], { withinHourly: 2 * D }],
    [['--keep-within-daily', '7d'], { withinDaily: 7 * D }],
    [['--keep-within-weekly=1m'], { withinWeekly: 30 * D }],
    [['--keep-within-monthly', '1y'], { withinMonthly: 365 * D }],
    [['--keep-within-yearly', '10y'], { withinYearly: 3650 * D }],
  ])('reads %j', (forgetArgs, rules) => {
    expect(args(forgetArgs)).toEqual({ rules });
  });

  it.each([
    ['--prune'],
    ['--group-by', 'host,paths'],
    ['--group-by=host'],
    ['--group-by', ''],
    ['-g', 'paths'],
    ['-q'],
    ['--quiet'],
    ['-v'],
    ['-vv'],
    ['--verbose'],
    ['--verbose=2'],
  ])('ignores %j, which changes nothing here', (...ignored) => {
    expect(args(['-d', '7', ...ignored, '-w', '4'])).toEqual({ rules: { daily: 7, weekly: 4 } });
  });

  it.each([
    [['--keep-tag', 'important'], `spec.retention.forgetArgs[0]: "--keep-tag" is not supported; ${use}`],
    [['-d', '7', '--keep-tag=important'], `spec.retention.forgetArgs[2]: "--keep-tag" is not supported; ${use}`],
    [['--host', 'node-1'], `spec.retention.forgetArgs[0]: "--host" is not supported; ${use}`],
    [['-c'], `spec.retention.forgetArgs[0]: "-c" is not supported; ${use}`],
    [['-qv'], `spec.retention.forgetArgs[0]: "-qv" is not supported; ${use}`],
    [
      ['--unsafe-allow-remove-all'],
      `spec.retention.forgetArgs[0]: "--unsafe-allow-remove-all" is not supported; ${use}`,
    ],
    [
      ['4bd0a8f1'],
      `spec.retention.forgetArgs[0]: "4bd0a8f1" is not a flag (Safehold picks the snapshots to forget); ${use}`,
    ],
    [
      ['-d', '7', '--'],
      `spec.retention.forgetArgs[2]: "--" is not a flag (Safehold picks the snapshots to forget); ${use}`,
    ],
    [
      ['--dry-run'],
      'spec.retention.forgetArgs[0]: "--dry-run" is not supported: it would make forget change nothing, so no backup would ever expire',
    ],
    [
      ['-d', '7', '-n'],
      'spec.retention.forgetArgs[2]: "-n" is not supported: it would make forget change nothing, so no backup would ever expire',
    ],
    [['--prune=false'], 'spec.retention.forgetArgs[0]: "--prune" takes no value, got "false"'],
    [['--keep-daily'], 'spec.retention.forgetArgs[0]: "--keep-daily" needs a value'],
    [['-w', '4', '--group-by'], 'spec.retention.forgetArgs[2]: "--group-by" needs a value'],
    [
      ['--keep-daily', 'x'],
      'spec.retention.forgetArgs[0]: "--keep-daily" needs a whole number (or -1 for unlimited), got "x"',
    ],
    [
      ['-w', '4', '--keep-daily', '-2'],
      'spec.retention.forgetArgs[2]: "--keep-daily" needs a whole number (or -1 for unlimited), got "-2"',
    ],
    [['-d=1.5'], 'spec.retention.forgetArgs[0]: "-d" needs a whole number (or -1 for unlimited), got "1.5"'],
    [['-d', '+3'], 'spec.retention.forgetArgs[0]: "-d" needs a whole number (or -1 for unlimited), got "+3"'],
    [
      ['--keep-last='],
      'spec.retention.forgetArgs[0]: "--keep-last" needs a whole number (or -1 for unlimited), got ""',
    ],
    [
      ['--keep-daily', '99999999999999999999'],
      'spec.retention.forgetArgs[0]: "--keep-daily" needs a whole number (or -1 for unlimited), got "99999999999999999999"',
    ],
    [
      ['--keep-daily', '--keep-weekly', '4'],
      'spec.retention.forgetArgs[0]: "--keep-daily" needs a whole number (or -1 for unlimited), got "--keep-weekly"',
    ],
    [
      ['--keep-daily', '7', '-d', '5'],
      'spec.retention.forgetArgs[2]: "-d" repeats a rule already given by forgetArgs[0]',
    ],
    [
      ['--keep-within=30d', '--keep-within', '7d'],
      'spec.retention.forgetArgs[1]: "--keep-within" repeats a rule already given by forgetArgs[0]',
    ],
  ])('refuses %j', (forgetArgs, error) => {
    expect(args(forgetArgs)).toEqual({ error });
  });

  it.each(['30', '30w', '-1d', '1d2d', '', '1.5d', '2 d'])('refuses the restic duration "%s"', (value) => {
    expect(args(['--keep-within-daily', value])).toEqual({
      error: `spec.retention.forgetArgs[0]: "--keep-within-daily" needs a restic duration such as 1y5m7d2h (y years, m months, d days, h hours), got "${value}"`,
    });
  });
});
