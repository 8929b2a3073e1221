// The conformance test server itself: its services, and the `npm run test-server` CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GET, POST, sessionPart, startServer, WsClient, type ConformanceServer } from './helpers.js';

describe('conformance test server', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('serves the standard services', () => {
    assert.deepEqual([...server.routes.keys()].sort(), ['/amplify', '/broadcast', '/close', '/cookie_needed_echo', '/disabled_websocket_echo', '/echo', '/ticker']);
  });

  it('/echo has responseLimit 4096, the others the default', () => {
    assert.equal(server.routes.get('/echo')!.route.responseLimit, 4096);
    assert.equal(server.routes.get('/close')!.route.responseLimit, 128 * 1024);
  });

  it('/ticker sends tick! every second', async () => {
    const ws = await WsClient.open(server.url + '/ticker' + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    assert.equal(await ws.recv(), 'a["tick!"]');
    await ws.close();
  });

  it('/amplify answers n with 2^n x, and anything else with 2', async () => {
    const ws = await WsClient.open(server.url + '/amplify' + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    for (const [message, length] of [
      ['1', 2],
      ['18', 2 ** 18],
      ['19', 2],
      ['0', 2],
      ['-3', 2],
      ['abc', 2],
      ['4.7', 16],
    ] as const) {
      ws.send(JSON.stringify([message]));
      assert.equal(await ws.recv(), `a["${'x'.repeat(length)}"]`, message);
    }
    await ws.close();
  });

  it('/broadcast sends every message to every session, across transports', async () => {
    const a = await WsClient.open(server.url + '/broadcast' + sessionPart() + '/websocket');
    assert.equal(await a.recv(), 'o');
    const polling = server.url + '/broadcast' + sessionPart();
    assert.equal((await POST(polling + '/xhr')).body, 'o\n');
    a.send('["hi all"]');
    assert.equal(await a.recv(), 'a["hi all"]');
    assert.equal((await POST(polling + '/xhr')).body, 'a["hi all"]\n');
    await a.close();
  });

  it('/disabled_websocket_echo and /cookie_needed_echo say so in /info', async () => {
    assert.equal((JSON.parse((await GET(server.url + '/disabled_websocket_echo/info')).body) as { websocket: boolean }).websocket, false);
    assert.equal((JSON.parse((await GET(server.url + '/cookie_needed_echo/info')).body) as { cookie_needed: boolean }).cookie_needed, true);
  });

  it('a store factory gets one store per route, by name', async () => {
    const { MemoryStore } = await import('../../src/index.js');
    const names: string[] = [];
    const custom = await startServer({
      store: (name) => {
        names.push(name);
        return new MemoryStore();
      },
    });
    try {
      assert.deepEqual(names.sort(), ['amplify', 'broadcast', 'close', 'cookie_needed_echo', 'disabled_websocket_echo', 'echo', 'ticker']);
      assert.equal((await POST(custom.url + '/echo' + sessionPart() + '/xhr')).body, 'o\n');
    } finally {
      await custom.close();
    }
  });
});

describe('npm run test-server (the CLI)', () => {
  it('prints its URL, serves, and stops cleanly on SIGTERM and SIGINT', async () => {
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    const script = fileURLToPath(new URL('../server/conformance-server.ts', import.meta.url));
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const child = spawn(process.execPath, [tsx, script, '--port', '0', '--host', '127.0.0.1', '--sockjs-url', 'http://cdn.example/sockjs.js'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        let output = '';
        const url = await new Promise<string>((resolve, reject) => {
          child.stdout.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            const match = /listening on (http:\/\/\S+)/.exec(output);
            if (match) resolve(match[1]!);
          });
          child.once('exit', (code) => reject(new Error(`exited early (${code}): ${output}`)));
        });
        const r = await GET(url + '/echo/iframe.html');
        assert.ok(r.body.includes('<script src="http://cdn.example/sockjs.js"></script>'));
        // A session open while it stops: it must not keep the process alive.
        assert.equal((await POST(url + '/echo' + sessionPart() + '/xhr')).body, 'o\n');
        const exited = once(child, 'exit');
        child.kill(signal);
        const [code] = (await exited) as [number | null];
        assert.equal(code, 0, `${signal}: exit code`);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }
  });
});
