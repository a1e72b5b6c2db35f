import type { IConstruct } from 'constructs';

/** Synth-time prop checks: the message names the construct path and the prop, so a bad value is found at once. */
export function requireWholeNumber(scope: IConstruct, prop: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${scope.node.path}: ${prop} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

export function requireNumber(scope: IConstruct, prop: string, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${scope.node.path}: ${prop} must be a number from ${min} to ${max}, got ${value}`);
  }
}

export function invalid(scope: IConstruct, message: string): Error {
  return new Error(`${scope.node.path}: ${message}`);
}
