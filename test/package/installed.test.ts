import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The package as users get it: `npm pack`, installed into a fresh project, then used from there
// the way a user does: require and import, a strict TypeScript consumer (the published
// declarations with no help from this repository's devDependencies), and the roletalk-bench
// command from node_modules/.bin (serve, a --mesh run against it, and a run against the baselines
// without the dev dependencies that some of them need).

const root = path.resolve(__dirname, '..', '..', '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in its own process group, so that a timeout ends its children too. */
function exec(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${path.basename(file)} ${args.join(' ')} timed out after ${options.timeout} ms\n${stdout}\n${stderr}`));
    }, options.timeout);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function check(what: string, r: Result): Result {
  assert.equal(r.code, 0, `${what} exited with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

/**
 * The npm to run, as [file, ...leading args]: the npm running these tests, else the `npm` on
 * PATH (the machine's, with its own node), else an npm installed beside this node binary.
 * The Node binaries CI takes from the registry carry no npm, so the first two matter there.
 */
function findNpm(): string[] | undefined {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath) && fs.existsSync(execpath)) return [process.env.npm_node_execpath ?? process.execPath, execpath];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'npm');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return [candidate];
    } catch {
      // Not here.
    }
  }
  const beside = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (fs.existsSync(beside)) return [process.execPath, beside];
  return undefined;
}

/** The environment without what an enclosing `npm test` sets for its own package. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$)/i.test(key)) delete env[key];
  }
  env.npm_config_update_notifier = 'false';
  return env;
}

const consumerTs = `
import { Peer, Role, Destination, Unit, Context, RoletalkError, type ConnectOptions, type PeerOptions, type Handler } from 'roletalk';
import * as http from 'node:http';

export async function main(): Promise<string> {
  const options: PeerOptions = { name: 'server', requestTimeout: 1000 };
  const server = new Peer(options);
  const role: Role = server.role('echo');
  const handler: Handler = (ctx) => ctx.data;
  role.onRequest('hi', handler);
  await server.listen({ port: 0, host: '127.0.0.1' });

  const client = new Peer({ name: 'client' });
  // ConnectOptions are ws client options (handshakeTimeout is one) plus permanent.
  const connectOptions: ConnectOptions = { permanent: false, handshakeTimeout: 1000 };
  const { unit, ws } = await client.connect('ws://127.0.0.1:' + server.port, connectOptions);
  const u: Unit = unit;
  // ws is a ws WebSocket: its events and fields are typed.
  ws.on('message', (data, isBinary) => void [data.toString().length, isBinary === true]);
  const state: number = ws.readyState;
  const dest: Destination = client.destination('echo');
  const ctx: Context = await dest.request('hi', 1);
  const rtt: number | undefined = ctx.rtt;

  // A WebSocketServer of ws, for serving on a server of one's own.
  const wss = server.prepareWSServer();
  wss.on('connection', (socket, req) => socket.send(String(req.headers.host)));
  const clients: number = wss.clients.size;
  const own = http.createServer();
  own.on('upgrade', (req, socket, head) => server.handleUpgrade(req, socket, head));

  try {
    await dest.request('missing');
  } catch (err) {
    if (err instanceof RoletalkError) void err.code;
  }
  await client.close();
  await server.close();
  return [u.name, state, ctx.data, rtt, clients].join(' ');
}
`;

const consumerMts = `
import { Peer, type Unit } from 'roletalk';
import roletalk from 'roletalk';

const peer = new Peer({ name: 'esm' });
const same: boolean = roletalk.Peer === Peer;
const units: Unit[] = peer.units;
await peer.close();
console.log(same, units.length);
`;

test('the packed package, installed in a fresh project, works as users use it', { timeout: 240_000 }, async (t) => {
  const npm = findNpm();
  if (npm === undefined) {
    t.skip(`no npm found (not beside ${process.execPath}, not on PATH): cannot pack and install`);
    return;
  }
  const [npmFile, ...npmArgs] = npm as [string, ...string[]];
  const env = cleanEnv();
  const runNpm = (args: string[], cwd: string): Promise<Result> => exec(npmFile, [...npmArgs, ...args], { cwd, env, timeout: 120_000 });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-installed-'));
  const children: ChildProcess[] = [];
  try {
    // --- npm pack: what the tarball holds --------------------------------------------------
    // --ignore-scripts: pack this build as it is (prepack rebuilds, which other tests read).
    const packed = check('npm pack', await runNpm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], root));
    const info = (JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
    const files = info.files.map((f) => f.path);
    for (const needed of ['package.json', 'README.md', 'build/src/index.js', 'build/src/index.mjs', 'build/src/index.d.ts', 'build/bench/cli.js', 'build/bench/e2e/server.js', 'build/bench/e2e/client.js']) {
      assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
    }
    const silly = files.filter(
      (f) =>
        /^(build\/test|test|bench|src|native-notes|scripts|\.ci)\//.test(f) ||
        /^build\/bench\/(native|threads|soak|fuzz|harness)\//.test(f) ||
        /^build\/bench\/.*\.d\.ts$/.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    assert.deepEqual(silly, [], 'the tarball ships files users do not need');

    // --- a fresh project installs it --------------------------------------------------------
    const project = path.join(tmp, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
    const typesNode = (JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as { version: string }).version;
    check(
      'npm install',
      await runNpm(['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(tmp, info.filename), `@types/node@${typesNode}`], project),
    );
    const installed = path.join(project, 'node_modules', 'roletalk');
    assert.ok(fs.existsSync(path.join(installed, 'package.json')));

    // Runs node in the project, on the Node running this test.
    const node = (args: string[], timeout = 30_000): Promise<Result> => exec(process.execPath, args, { cwd: project, env, timeout });

    await t.test('require("roletalk") from the project', async () => {
      const script = "const m = require('roletalk'); console.log(require.resolve('roletalk'), typeof m.Peer, typeof m.Role, typeof m.Destination, typeof m.RoletalkError, typeof m.FrameEncoder)";
      const { stdout } = check('require', await node(['-e', script]));
      assert.equal(stdout.trim(), `${fs.realpathSync(path.join(installed, 'build', 'src', 'index.js'))} function function function function function`);
    });

    await t.test('import from "roletalk" in the project: one module with require, and a live request', async () => {
      const script = [
        "import { Peer, Destination } from 'roletalk';",
        "import { createRequire } from 'node:module';",
        "const cjs = createRequire(import.meta.url)('roletalk');",
        "const a = new Peer({ name: 'a' });",
        "a.role('math').onRequest('double', (ctx) => ctx.data * 2);",
        "await a.listen({ port: 0, host: '127.0.0.1' });",
        "const b = new Peer({ name: 'b' });",
        "const { unit, ws } = await b.connect(`ws://127.0.0.1:${a.port}`, { permanent: false });",
        "const ctx = await b.destination('math').request('double', 21);",
        "console.log(import.meta.resolve('roletalk').endsWith('/build/src/index.mjs'), Peer === cjs.Peer, Destination === cjs.Destination, unit.name, ws.readyState, ctx.data);",
        'await b.close();',
        'await a.close();',
      ].join('\n');
      const { stdout } = check('import', await node(['--input-type=module', '-e', script]));
      assert.equal(stdout.trim(), 'true true true a 1 42');
    });

    await t.test('a strict TypeScript consumer compiles against the published declarations', async () => {
      fs.writeFileSync(path.join(project, 'consumer.ts'), consumerTs);
      fs.writeFileSync(path.join(project, 'consumer-esm.mts'), consumerMts);
      // One program, to keep it quick: node16 resolution (the .ts is CommonJS, the .mts ESM), and
      // without esModuleInterop, so the declarations' own imports must not lean on it either.
      const config = {
        compilerOptions: {
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          target: 'ES2022',
          module: 'node16',
          moduleResolution: 'node16',
          esModuleInterop: false,
          allowSyntheticDefaultImports: false,
        },
        files: ['consumer.ts', 'consumer-esm.mts'],
      };
      fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(config, null, 2));
      check('tsc', await node([tsc, '-p', 'tsconfig.json'], 120_000));
    });

    await t.test('roletalk-bench serve, and roletalk-bench run --mesh --quick against it', async () => {
      const bin = path.join(project, 'node_modules', '.bin', 'roletalk-bench');
      assert.ok(fs.existsSync(bin), 'node_modules/.bin/roletalk-bench is missing');
      // The command as a user runs it: through its #! line, with this Node first on PATH.
      const benchEnv = { ...env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}` };
      const server = spawn(bin, ['serve', '--port', '0'], { cwd: project, env: benchEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      children.push(server);
      let serverOutput = '';
      const address = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve printed no address:\n${serverOutput}`)), 30_000);
        const onData = (chunk: Buffer): void => {
          serverOutput += chunk.toString();
          const match = /listening: (\S+)/.exec(serverOutput);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        };
        server.stdout!.on('data', onData);
        server.stderr!.on('data', onData);
        server.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`roletalk-bench serve exited with ${code}:\n${serverOutput}`));
        });
      });
      const r = await exec(bin, ['run', '--mesh', address, '--quick'], { cwd: project, env: benchEnv, timeout: 120_000 });
      check('roletalk-bench run --mesh --quick', r);
      assert.match(r.stdout, /codec encode request/);
      assert.match(r.stdout, /roletalk\s+rtt\s+conn=1/);
      assert.match(r.stdout, /roletalk\s+throughput\s+conn=1 win=64/);
      // Results and the report go to the user's directory, never into node_modules.
      assert.ok(!fs.existsSync(path.join(installed, 'BENCHMARKS.md')), 'the bench wrote BENCHMARKS.md into node_modules');
      assert.ok(!fs.existsSync(path.join(installed, 'bench')), 'the bench wrote results into node_modules');
    });

    await t.test('roletalk-bench run against the baselines: the dev-dependency ones skipped with a note each', async () => {
      const bin = path.join(project, 'node_modules', '.bin', 'roletalk-bench');
      const benchEnv = { ...env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}` };
      const out = path.join(project, 'bench-out');
      const flags = ['--quick', '--only', 'e2e', '--groups', 'requests', '--rounds', '1', '--connections', '1', '--windows', '1', '--payloads', '64', '--out', out];
      const r = check('roletalk-bench run --groups requests', await exec(bin, ['run', ...flags], { cwd: project, env: benchEnv, timeout: 120_000 }));
      for (const name of ['gRPC-js', 'NATS', 'Moleculer']) assert.match(r.stdout, new RegExp(`${name} baseline skipped: the \\S+ package is not installed`));
      assert.match(r.stdout, /net\s+rtt\s+conn=1/);
      assert.match(fs.readFileSync(path.join(out, 'BENCHMARKS.md'), 'utf8'), /### Against every baseline, in interleaved rounds/);
    });
  } finally {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        killGroup(child);
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
