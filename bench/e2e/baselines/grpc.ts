import type * as Grpc from '@grpc/grpc-js';
import { partialDriver, type Driver } from '../driver';
import type { ServerOptions } from '../messages';

/**
 * The gRPC-js baseline: one unary method, Echo, whose messages are the payload bytes themselves
 * (identity serializers, no protobuf), so that only gRPC's HTTP/2 framing is measured.
 * Addresses are `host:port`. `@grpc/grpc-js` is a dev dependency: loaded only when used.
 */

function grpcJs(): typeof Grpc {
  return require('@grpc/grpc-js') as typeof Grpc;
}

const identity = (bytes: Buffer): Buffer => bytes;

const service: Grpc.ServiceDefinition = {
  echo: {
    path: '/bench.Bench/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export async function serve(options: ServerOptions): Promise<string[]> {
  const grpc = grpcJs();
  const addresses: string[] = [];
  for (let i = 0; i < options.peers; i++) {
    const server = new grpc.Server();
    server.addService(service, {
      echo: (call: Grpc.ServerUnaryCall<Buffer, Buffer>, callback: Grpc.sendUnaryData<Buffer>) => callback(null, call.request),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${i === 0 ? options.port : 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    addresses.push(`127.0.0.1:${port}`);
  }
  return addresses;
}

type Echo = (payload: Buffer, callback: (err: Grpc.ServiceError | null, answer: Buffer) => void) => Grpc.ClientUnaryCall;

export async function connect(addresses: string[], connections: number): Promise<Driver> {
  const grpc = grpcJs();
  const Client = grpc.makeGenericClientConstructor(service, 'Bench');
  const clients: Grpc.Client[] = [];
  const echoes: Echo[] = [];
  for (const address of addresses) {
    for (let c = 0; c < connections; c++) {
      // A local subchannel pool: each client its own HTTP/2 connection, not one shared by all.
      const client = new Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
      clients.push(client);
      echoes.push(client.echo!.bind(client) as Echo);
    }
  }
  let next = 0;
  return partialDriver('gRPC-js', {
    units: addresses.length,
    request: (payload) =>
      new Promise((resolve, reject) => echoes[next++ % echoes.length]!(payload, (err, answer) => (err ? reject(err) : resolve(answer)))),
    async close() {
      for (const client of clients) client.close();
    },
  });
}
