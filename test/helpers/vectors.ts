import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './repo';

/**
 * The golden vectors captured from the original roletalk 1.1.3 peers, kept in this repository
 * under test/fixtures/vectors (see the README there). Nothing is read from outside the repository.
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

export const vectorsDir = path.join(repoRoot(), 'test', 'fixtures', 'vectors');

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
