// A pipeline with streams: a producer uploads a file to a transformer, which streams the result
// on to a store. Flow control follows the slowest reader, end to end.
const { Peer } = require('roletalk');
const { createHash } = require('node:crypto');
const { pipeline } = require('node:stream/promises');
const { Readable, Transform } = require('node:stream');

async function main() {
  const store = new Peer({ name: 'store' });
  store.role('store').onReadable('put', (ctx) => {
    const hash = createHash('sha256');
    let bytes = 0;
    ctx.readable.on('data', (chunk) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    ctx.readable.on('end', () => console.log(`stored ${ctx.data.name}: ${bytes} bytes, sha256 ${hash.digest('hex').slice(0, 12)}`));
    return 'ok';
  });
  await store.listen({ port: 0, host: '127.0.0.1' });

  const transformer = new Peer({ name: 'transformer' });
  const storeDest = transformer.destination('store');
  await transformer.connect(`ws://127.0.0.1:${store.port}`);
  transformer.role('upper').onReadable('convert', (ctx) => {
    const upper = new Transform({ transform: (chunk, _enc, done) => done(null, Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1')) });
    pipeline(ctx.readable, upper, storeDest.Writable('put', { name: ctx.data.name })).catch((err) => console.error('pipeline failed', err));
    return 'converting';
  });
  await transformer.listen({ port: 0, host: '127.0.0.1' });

  const producer = new Peer({ name: 'producer' });
  const upper = producer.destination('upper');
  await producer.connect(`ws://127.0.0.1:${transformer.port}`);
  const text = 'the quick brown fox jumps over the lazy dog\n'.repeat(50_000);
  await pipeline(Readable.from([Buffer.from(text, 'latin1')]), upper.Writable('convert', { name: 'fox.txt' }));
  console.log('uploaded', text.length, 'bytes');

  await new Promise((resolve) => setTimeout(resolve, 300));
  await producer.close();
  await transformer.close();
  await store.close();
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
