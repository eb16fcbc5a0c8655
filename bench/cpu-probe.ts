import { readFileSync } from 'node:fs';
import { liftLimits, sentimentCalls } from './gateway';
import { closedLoop, sequential, startPlatform } from './lib';

const ticks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const p = await startPlatform({}, (process.env.NODEARGS ?? '').split(' ').filter(Boolean));
const rss = () => /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'))?.[1];
console.log('idle rss', rss());
try {
  await liftLimits(p.dynamoUrl, p.tenantId);
  const { gateway } = sentimentCalls(p);
  await sequential(100, 0, gateway);
  const pid = p.child.pid!;
  let t0 = ticks(pid);
  const s = await sequential(400, 0, gateway);
  console.log('c=1 p50', s.p50.toFixed(2), 'cpu ms/req', ((ticks(pid) - t0) / 400).toFixed(2));
  t0 = ticks(pid);
  const r = await closedLoop(16, 5, gateway);
  console.log(
    'c=16 rps',
    r.rps.toFixed(0),
    'cpu ms/req',
    ((ticks(pid) - t0) / r.n).toFixed(2),
    'rss',
    /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1],
  );
} finally {
  await p.stop();
}
process.exit(0);
