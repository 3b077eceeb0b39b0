// Preloaded into a benchmarked Node process (NODE_OPTIONS=--import=<this file>):
// as the process exits, writes its own peak resident set (KiB) and CPU seconds,
// its children not counted, to SAFEHOLD_BENCH_USAGE_FILE as JSON. The peak is
// VmHWM, not getrusage's maxRSS: the kernel carries into maxRSS the resident
// set of the forked copy of the parent that exec replaced (here the bench's
// own process, hundreds of MiB).
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.SAFEHOLD_BENCH_USAGE_FILE;
if (file !== undefined) {
  process.on('exit', () => {
    const status = readFileSync('/proc/self/status', 'utf8');
    const usage = process.resourceUsage();
    const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
    writeFileSync(file, JSON.stringify({ peakKiB: Number(/^VmHWM:\s*(\d+) kB/m.exec(status)?.[1]), cpuSeconds }));
  });
}
