/** CESQL abstract syntax tree: built once by the parser, walked by the evaluator. */
import type { FunctionDef } from './functions.js';

/** CESQL's three primitive types, as JavaScript values: Boolean, Integer (32-bit), String. */
export type CesqlValue = boolean | number | string;
export type CesqlType = 'Boolean' | 'Integer' | 'String';

export interface Position {
  line: number;
  column: number;
}

export type BinaryOp =
  | 'AND'
  | 'OR'
  | 'XOR'
  | '='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '+'
  | '-'
  | '*'
  | '/'
  | '%';

export interface LiteralNode extends Position {
  kind: 'literal';
  value: CesqlValue;
}

export interface AttributeNode extends Position {
  kind: 'attribute';
  /** Lower-cased: CloudEvents attribute names are lower-case. */
  name: string;
}

export interface ExistsNode extends Position {
  kind: 'exists';
  name: string;
}

export interface UnaryNode extends Position {
  kind: 'not' | 'negate';
  operand: CesqlNode;
}

export interface BinaryNode extends Position {
  kind: 'binary';
  op: BinaryOp;
  left: CesqlNode;
  right: CesqlNode;
}

export interface LikeNode extends Position {
  kind: 'like';
  operand: CesqlNode;
  /** The pattern as written (after string unescaping). */
  pattern: string;
  /** Compiled once at parse time. */
  matcher: RegExp;
  negated: boolean;
}

export interface InNode extends Position {
  kind: 'in';
  operand: CesqlNode;
  items: CesqlNode[];
  negated: boolean;
}

export interface CallNode extends Position {
  kind: 'call';
  /** Upper-cased function name. */
  name: string;
  args: CesqlNode[];
  /** Resolved at parse time by name and arity; undefined gives a `missingFunction` error on evaluation. */
  fn: FunctionDef | undefined;
}

export type CesqlNode =
  | LiteralNode
  | AttributeNode
  | ExistsNode
  | UnaryNode
  | BinaryNode
  | LikeNode
  | InNode
  | CallNode;

/** A parsed expression: compile once, evaluate many times. */
export interface CesqlExpression {
  readonly source: string;
  readonly root: CesqlNode;
}

export function typeOf(v: CesqlValue): CesqlType {
  return typeof v === 'boolean' ? 'Boolean' : typeof v === 'number' ? 'Integer' : 'String';
}

export function zeroOf(t: CesqlType): CesqlValue {
  return t === 'Boolean' ? false : t === 'Integer' ? 0 : '';
}
