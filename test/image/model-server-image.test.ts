import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../infra/paths';

/**
 * The model-server image, built for real from containers/model-server/Dockerfile (by
 * containers/model-server/build.sh: buildah, with a Node base made from Debian's mirror and the
 * npm registry, since CI reaches no container registry) and run with podman the way SageMaker
 * runs it: `<image> serve`, TOLLGATE_MODEL_VERSION set, port 8080. Then GET /ping and
 * POST /invocations against the real models: sentiment and the self-built tiny chat model.
 *
 * Needs root, buildah, podman, runc and debootstrap (.ci/run installs them); without them this
 * fails, it does not skip. Everything lives in a storage root of its own, removed afterwards.
 */
const run = promisify(execFile);
const conf = fromRoot('containers', 'model-server', 'ci-containers.conf');
const env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? conf };
// The build writes up to about 6 GB of small files (the production node_modules in the deps stage,
// its commit, and the runtime image's copy): on tmpfs when the machine has one with room, which is
// minutes faster than the disk CI has.
const roomy = (dir: string) =>
  existsSync(dir) && statfsSync(dir).bavail * statfsSync(dir).bsize > 10 * 2 ** 30;
const storage = mkdtempSync(join(roomy('/dev/shm') ? '/dev/shm' : tmpdir(), 'tollgate-image-'));
const podmanStorage = ['--root', storage, '--runroot', join(storage, 'run')];
const tag = `localhost/tollgate-model-server:test-${process.pid}`;
const started: string[] = [];

async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run('podman', [...podmanStorage, ...args], { env, maxBuffer: 64 << 20 });
  return stdout.trim();
}

/** Runs build.sh, keeping its output for the failure message; resolves with the image name. */
function build(): Promise<{ image: string; seconds: number; steps: string[] }> {
  const began = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      fromRoot('containers', 'model-server', 'build.sh'),
      ['--root', storage, '--tag', tag],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    let all = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d).slice(-20_000);
      all += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      // build.sh's own timestamped lines: where the minutes went.
      const steps = all.split('\n').filter((l) => l.startsWith('[build.sh '));
      if (code === 0)
        resolve({ image: out.trim().split('\n').at(-1)!, seconds: (Date.now() - began) / 1000, steps });
      else reject(new Error(`build.sh exited ${code}:\n${err.split('\n').slice(-60).join('\n')}`));
    });
  });
}

/** Starts the image as SageMaker does, for one version; resolves with its name and base URL. */
async function serve(
  label: string,
  version: string,
  extra: string[],
): Promise<{ name: string; url: string }> {
  const name = `tollgate-image-test-${process.pid}-${label}`;
  started.push(name);
  await podman(
    'run',
    '--detach',
    '--name',
    name,
    '--env',
    `TOLLGATE_MODEL_VERSION=${version}`,
    ...extra,
    tag,
    'serve',
  );
  if (extra.includes('--network=none')) return { name, url: 'http://127.0.0.1:8080' };
  const published = await podman('port', name, '8080/tcp');
  const port = /:(\d+)$/m.exec(published)?.[1];
  if (!port) throw new Error(`no published port for ${name}: ${published}`);
  return { name, url: `http://127.0.0.1:${port}` };
}

async function untilPinged(url: string, name: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/ping`);
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const logs = await podman('logs', '--tail', '30', name).catch((e) => String(e));
  throw new Error(`${name} never answered /ping with 200 (last: ${last}); logs:\n${logs}`);
}

function invoke(url: string, body: unknown, accept = 'application/json'): Promise<Response> {
  return fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify(body),
  });
}

const nodeVersion = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-/m.exec(
  readFileSync(fromRoot('containers', 'model-server', 'Dockerfile'), 'utf8'),
)?.[1];

describe('the model-server image, built and run', () => {
  let sentiment: { name: string; url: string };
  let chat: { name: string; url: string };
  let isolated: { name: string; url: string };

  beforeAll(async () => {
    for (const tool of ['buildah', 'podman', 'runc', 'debootstrap']) {
      await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
        throw new Error(`${tool} is not installed (.ci/run installs it from Debian)`);
      });
    }
    const { image, seconds, steps } = await build();
    expect(image).toBe(tag);
    console.info(`model-server image built in ${seconds.toFixed(0)} s:\n${steps.join('\n')}`);
    [sentiment, chat, isolated] = await Promise.all([
      serve('sentiment', 'sentiment@v1', ['--publish', '127.0.0.1::8080']),
      serve('chat', 'chat@tiny-1', ['--publish', '127.0.0.1::8080']),
      // SageMaker runs the image with network isolation: the weights must be inside it.
      serve('isolated', 'sentiment@v1', ['--network=none']),
    ]);
    await Promise.all([untilPinged(sentiment.url, sentiment.name), untilPinged(chat.url, chat.name)]);
  });

  afterAll(async () => {
    try {
      if (started.length) await podman('rm', '--force', '--time', '2', ...started).catch(() => '');
      await podman('system', 'reset', '--force').catch(() => '');
    } finally {
      rmSync(storage, { recursive: true, force: true });
    }
  });

  it('is configured as the Dockerfile says: user node, port 8080, the runtime entry', async () => {
    const [config] = JSON.parse(await podman('image', 'inspect', tag)) as {
      Config: { User: string; ExposedPorts: Record<string, unknown>; Entrypoint: string[]; Env: string[] };
    }[];
    expect(config!.Config.User).toBe('node');
    expect(Object.keys(config!.Config.ExposedPorts)).toEqual(['8080/tcp']);
    expect(config!.Config.Entrypoint).toEqual(['node', '--import', 'tsx', 'local/runtime/main.ts']);
    expect(config!.Config.Env).toContain('TOLLGATE_MODELS_DIR=/app/.data/models');
  });

  it("runs the Dockerfile's Node as uid 1000 over code it cannot change", async () => {
    expect(nodeVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(await podman('exec', sentiment.name, 'node', '--version')).toBe(`v${nodeVersion}`);
    expect(await podman('exec', sentiment.name, 'id', '-u')).toBe('1000');
    const write = await podman('exec', sentiment.name, 'touch', '/app/local/runtime/main.ts').then(
      () => 'written',
      (e: { stderr?: string }) => e.stderr ?? 'refused',
    );
    expect(write).toMatch(/Permission denied/);
  });

  it('answers GET /ping with 200 once the version it hosts is loaded', async () => {
    const res = await fetch(`${sentiment.url}/ping`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      models: { 'tollgate-local-sentiment/v1': 'ready' },
    });
  });

  it('serves POST /invocations with the real sentiment model', async () => {
    const res = await invoke(sentiment.url, {
      inputs: ['I love this, it is wonderful', 'This is awful and broken'],
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const body = JSON.parse(text) as { results: { label: string }[] };
    expect(body.results.map((r) => r.label)).toEqual(['positive', 'negative']);
  });

  it("answers a bad input with the model's own 400", async () => {
    const res = await invoke(sentiment.url, { nope: true });
    expect(res.status).toBe(400);
  });

  it('streams the self-built tiny chat model as chunked JSON lines', async () => {
    const res = await invoke(
      chat.url,
      { messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5, temperature: 0 },
      'application/jsonlines',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/jsonlines');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const lines = (await res.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { delta?: string; usage?: { output_tokens: number } });
    expect(lines.filter((l) => l.delta !== undefined)).toHaveLength(5);
    expect(lines.at(-1)!.usage!.output_tokens).toBe(5);
  });

  it('loads and serves with no network at all, as SageMaker runs it', async () => {
    // No published port without a network: the call comes from inside the container.
    const script = `
      const deadline = Date.now() + 90000;
      for (;;) {
        const ping = await fetch('${isolated.url}/ping').catch(() => undefined);
        if (ping?.status === 200) break;
        if (Date.now() > deadline) throw new Error('no 200 from /ping');
        await new Promise((r) => setTimeout(r, 500));
      }
      const res = await fetch('${isolated.url}/invocations', { method: 'POST',
        headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: ['great'] }) });
      console.log(res.status, await res.text());`;
    const out = await podman('exec', isolated.name, 'node', '--input-type=module', '-e', script);
    expect(out).toMatch(/^200 .*"label":"positive"/);
    const networks = await podman('inspect', '--format', '{{.HostConfig.NetworkMode}}', isolated.name);
    expect(networks).toBe('none');
  });

  it('stops on SIGTERM before the grace period runs out', async () => {
    const began = Date.now();
    await podman('stop', '--time', '20', chat.name);
    expect(Date.now() - began).toBeLessThan(15_000);
    const state = JSON.parse(await podman('inspect', '--format', '{{json .State}}', chat.name)) as {
      ExitCode: number;
    };
    expect(state.ExitCode).toBe(0);
  });
});
