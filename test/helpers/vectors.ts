import fs from 'node:fs';
import path from 'node:path';

/**
 * The golden vectors captured from the original peer, in ../shared/vectors beside the
 * repository (CI clones the repository with shared/ beside it).
 */

export interface VectorField {
  offset: number;
  length: number;
  name: string;
  hex?: string;
  value?: unknown;
  meaning?: string;
}

export interface FrameVector {
  name: string;
  step: string;
  seq: number;
  direction: string;
  length: number;
  hex: string;
  decoded: { kind: string; typeByte: number; fields: VectorField[] };
  observed?: { sentJsValue?: string; receivedAs?: { type: string; data: unknown } };
}

function findShared(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'shared', 'vectors');
    if (fs.existsSync(path.join(candidate, 'frames.json'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('shared/vectors not found beside the repository');
}

export const vectorsDir = findShared();

export function loadFrames(): FrameVector[] {
  return JSON.parse(fs.readFileSync(path.join(vectorsDir, 'frames.json'), 'utf8')) as FrameVector[];
}

export function loadBehaviors(): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(vectorsDir, 'behaviors.json'), 'utf8')) as Record<string, any>;
}

export function field(vector: FrameVector, name: string): VectorField | undefined {
  return vector.decoded.fields.find((f) => f.name === name);
}

/** The JS value a vector's `$hex` / `$number` notation stands for. */
export function revive(data: unknown): unknown {
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const o = data as Record<string, unknown>;
    if (typeof o.$hex === 'string') return Buffer.from(o.$hex, 'hex');
    if (typeof o.$number === 'string') return Number(o.$number);
  }
  return data;
}
