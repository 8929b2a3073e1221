// examples/prometheus: its /metrics is scraped after real sessions, and the koa-sockjs series
// carry the values those sessions produced.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMetricsApp, type MetricsApp } from '../../examples/prometheus/server.js';
import { post, request } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { FrameClient } from '../helpers/ws-client.js';

/** The value of the one sample whose name and labels contain all of `parts`. */
function sample(text: string, name: string, ...labels: string[]): number {
  const lines = text.split('\n').filter((line) => line.startsWith(`${name}{`) && labels.every((label) => line.includes(label)));
  assert.equal(lines.length, 1, `exactly one ${name} sample with ${labels.join(', ')}:\n${text}`);
  return Number(lines[0]!.slice(lines[0]!.lastIndexOf(' ') + 1));
}

describe('examples/prometheus', () => {
  let example: MetricsApp;
  let server: Listening;
  before(async () => {
    example = createMetricsApp();
    server = await listen(example.app);
  });
  after(async () => {
    await server.close();
    await example.shutdown();
  });

  it('serves the route\'s sessions, messages, bytes and store latency in Prometheus text format', async () => {
    const ws = new FrameClient(`${server.url}/echo/0/0/websocket`);
    await ws.waitFor(1);
    ws.send('hello');
    await ws.waitFor(2);
    assert.equal((await post(`${server.url}/echo/000/poll/xhr`)).body, 'o\n');

    const scrape = await request(`${server.url}/metrics`);
    assert.equal(scrape.status, 200);
    assert.match(String(scrape.headers['content-type']), /^text\/plain/);
    const text = scrape.body;
    assert.match(text, /^# HELP sockjs_server_active_sessions Sessions this process holds now\.$/m);
    assert.match(text, /^# TYPE sockjs_server_active_sessions gauge$/m);
    const route = 'sockjs_route="echo"';
    assert.equal(sample(text, 'sockjs_server_active_sessions', route, 'sockjs_transport="websocket"'), 1);
    assert.equal(sample(text, 'sockjs_server_active_sessions', route, 'sockjs_transport="xhr-polling"'), 1);
    assert.equal(sample(text, 'sockjs_server_sessions_created_total', route, 'sockjs_transport="websocket"'), 1);
    assert.equal(sample(text, 'sockjs_server_messages_total', 'sockjs_transport="websocket"', 'network_io_direction="receive"'), 1);
    // ["hello"] in, a["hello"] out.
    assert.equal(sample(text, 'sockjs_server_io_total', 'sockjs_transport="websocket"', 'network_io_direction="receive"'), 9);
    assert.equal(sample(text, 'sockjs_server_io_total', 'sockjs_transport="websocket"', 'network_io_direction="transmit"'), 10);
    // Both sessions were created in the store; a histogram's count says how many calls it timed.
    assert.equal(sample(text, 'sockjs_store_operation_duration_count', route, 'sockjs_store_operation="create"'), 2);
    assert.equal(sample(text, 'sockjs_store_operation_duration_bucket', 'sockjs_store_operation="create"', 'le="+Inf"'), 2);

    await ws.close();
    // The server learns of the close on its own side of the connection: scrape until it has.
    let later = '';
    for (let scrapes = 0; scrapes < 100; scrapes++) {
      later = (await request(`${server.url}/metrics`)).body;
      if (sample(later, 'sockjs_server_active_sessions', route, 'sockjs_transport="websocket"') === 0) break;
    }
    assert.equal(sample(later, 'sockjs_server_active_sessions', route, 'sockjs_transport="websocket"'), 0);
    assert.equal(sample(later, 'sockjs_server_sessions_closed_total', 'sockjs_transport="websocket"', 'sockjs_close_code="1002"'), 1);
  });
});
