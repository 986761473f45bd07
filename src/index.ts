/**
 * roletalk: brokerless peer-to-peer communication for Node.js services (protocol 2.0.0).
 * This module only assembles the public API.
 */
export { Peer, type PeerOptions, type ListenOptions, type ConnectOptions, type CloseOptions } from './api/peer';
export type { DiscoverOptions, DiscoverTarget } from './api/options';
export type { Discovery, DnsResolver } from './engine/discovery';
export { Role, type Handler, type ReadableStreamHandler, type WritableStreamHandler } from './api/role';
export { Destination, type EventOptions, type DestinationOptions, type ResponseCallback } from './api/destination';
export { Unit, type UnitConnection, type ConnectionCloseOptions } from './api/unit';
export { Context } from './api/context';
export { Singleton } from './api/singleton';
export type { Reply } from './engine/middleware';
// The type names of roletalk 1.1.x.
export type {
  EmitOptions,
  PeerMetaData,
  ContextForReadable,
  ContextForWritable,
  RequestCallback,
  sendableData,
  MessageHandler,
  RequestHandler,
  ReadableHandler,
  WritableHandler,
} from './api/types';
export * from './errors';
export type { BalanceStrategy } from './engine/balancer';
export type { PeerStats, UnitStats, ConnectionStats, RequestStats, TrafficStats } from './engine/stats';
export {
  FrameType,
  DataType,
  StreamFlag,
  PROTOCOL_VERSION,
  FrameEncoder,
  BufferPool,
  decodeFrame,
  decodeHandshakeFrame,
  decodePayload,
} from './protocol';
