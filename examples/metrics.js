// Metrics: serve peer.stats() in the Prometheus text format over HTTP, with prom-client
// (an example dependency: npm install prom-client). Scrape http://host:port/metrics.
const http = require('node:http');
const client = require('prom-client');
const { Peer } = require('roletalk');

/** Registers gauges that read the peer's counters at each scrape. */
function instrument(peer, registry) {
  const gauge = (name, help, labelNames, collect) =>
    new client.Gauge({ name, help, labelNames, registers: [registry], collect() { collect(this); } });
  gauge('roletalk_requests_completed_total', 'Requests answered with a response', [], (g) => g.set(peer.stats().requests.completed));
  gauge('roletalk_requests_in_flight', 'Requests waiting for an answer', [], (g) => g.set(peer.stats().requests.inFlight));
  gauge('roletalk_requests_failed_total', 'Failed requests by error code', ['code'], (g) => {
    g.reset();
    for (const [code, n] of Object.entries(peer.stats().requests.failed)) g.set({ code }, n);
  });
  gauge('roletalk_requests_handled_total', 'Incoming requests answered', [], (g) => g.set(peer.stats().handled));
  gauge('roletalk_bytes_total', 'Bytes of frames', ['direction'], (g) => {
    const { traffic } = peer.stats();
    g.set({ direction: 'in' }, traffic.bytesIn);
    g.set({ direction: 'out' }, traffic.bytesOut);
  });
  gauge('roletalk_connection_rtt_ms', 'Moving average of request round trips per connection', ['unit', 'connection'], (g) => {
    g.reset();
    for (const unit of peer.stats().units) {
      for (const conn of unit.connections) if (conn.rtt !== undefined) g.set({ unit: unit.name || unit.id, connection: String(conn.id) }, conn.rtt);
    }
  });
}

async function main() {
  const server = new Peer({ name: 'server' });
  server.role('svc').onRequest('echo', (ctx) => ctx.data);
  server.role('svc').onRequest('fail', () => {
    throw new Error('nope');
  });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const app = new Peer({ name: 'app' });
  const svc = app.destination('svc');
  await app.connect(`ws://127.0.0.1:${server.port}`);
  for (let i = 0; i < 10; i++) await svc.request('echo', i);
  await svc.request('fail').catch(() => {});

  const registry = new client.Registry();
  instrument(app, registry);
  const http_ = http.createServer(async (req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
  });
  await new Promise((resolve) => http_.listen(0, '127.0.0.1', resolve));

  // Scrape it once, as Prometheus would.
  const text = await (await fetch(`http://127.0.0.1:${http_.address().port}/metrics`)).text();
  for (const line of text.split('\n')) if (line.startsWith('roletalk_') && !line.includes('bytes')) console.log(line);

  http_.close();
  await app.close();
  await server.close();
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
