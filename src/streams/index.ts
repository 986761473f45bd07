export { StreamReader, type ReaderLink } from './reader';
export { INITIAL_ALLOWANCE, DEFAULT_STREAM_WINDOW } from './window';
export { StreamWriter, MAX_CHUNK, type WriterLink } from './writer';
