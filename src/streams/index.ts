export { StreamReader, INITIAL_ALLOWANCE, type ReaderLink } from './reader';
export { StreamWriter, MAX_CHUNK, type WriterLink } from './writer';
