/** The public API of roletalk. */
export * from './errors';
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
