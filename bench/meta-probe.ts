import { build } from 'esbuild';
import { esmRequireBanner, tollgateBundling } from '../infra/bundling';

const entry = process.argv[2]!;
const r = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: { js: esmRequireBanner },
  write: false,
  outfile: '/tmp/x.mjs',
  external: process.env.EXT ? process.env.EXT.split(',') : [],
  metafile: true,
  logLevel: 'silent',
});
const out = Object.values(r.metafile.outputs)[0]!;
console.log('total KB', (out.bytes / 1024).toFixed(0));
const byPkg = new Map<string, number>();
for (const [path, i] of Object.entries(out.inputs)) {
  const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(path);
  const k = m ? m[1]! : path.split('/').slice(0, 2).join('/');
  byPkg.set(k, (byPkg.get(k) ?? 0) + i.bytesInOutput);
}
for (const [k, v] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 40))
  console.log((v / 1024).toFixed(1).padStart(8), k);
const pat = process.argv[3];
if (pat) {
  const rows = Object.entries(out.inputs)
    .filter(([p]) => p.includes(pat))
    .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
  let locales = 0;
  for (const [p, i] of rows) if (p.includes('locales')) locales += i.bytesInOutput;
  console.log('locales KB', (locales / 1024).toFixed(1));
  for (const [p, i] of rows.slice(0, 25)) console.log((i.bytesInOutput / 1024).toFixed(1).padStart(8), p);
}
