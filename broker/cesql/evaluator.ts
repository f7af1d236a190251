/**
 * CESQL evaluator: a switch over node kinds. Errors never throw: each one is recorded and the failing
 * construct yields a value (CESQL v1.0 §3.3, §4.1 "complete evaluation mode"):
 * - a cast that fails yields the target type's zero value and the operator goes on with it (`NOT 10` is
 *   `true` with a cast error);
 * - an operator or function whose operand raised an error yields the zero value of its return type
 *   (`missing * 5` is 0, `true AND (1 != 1 / 0)` is false, each with one error);
 * - AND and OR short-circuit, so the right side's errors only count when it is evaluated.
 */
import type { CloudEvent } from 'cloudevents';
import {
  typeOf,
  zeroOf,
  type BinaryNode,
  type CallNode,
  type CesqlExpression,
  type CesqlNode,
  type CesqlType,
  type CesqlValue,
  type InNode,
  type Position,
} from './ast.js';
import { castToBoolean, castToInteger, castToString, INT32_MAX, INT32_MIN } from './casting.js';
import { CesqlError, type CesqlErrorKind } from './errors.js';

export interface CesqlResult {
  value: CesqlValue;
  errors: CesqlError[];
}

/** What the evaluator reads attributes from: a CloudEvent or a plain record of attributes. */
export type CesqlInput = CloudEvent | Readonly<Record<string, unknown>>;

interface Ctx {
  event: Readonly<Record<string, unknown>>;
  /** undefined: only count errors (the filter path, which needs no messages). */
  errors: CesqlError[] | undefined;
  count: number;
}

function fail(ctx: Ctx, kind: CesqlErrorKind, at: Position, message: string): void {
  ctx.count++;
  if (ctx.errors !== undefined) {
    ctx.errors.push(new CesqlError(kind, `${message} at line ${at.line}, column ${at.column}`, at));
  }
}

/** Keys of a CloudEvent object that are not context attributes. */
const NOT_ATTRIBUTES = new Set(['data', 'data_base64']);

/** The attribute `name` of the event as a CESQL value, or undefined when the event does not have it. */
export function readAttribute(event: Readonly<Record<string, unknown>>, name: string): CesqlValue | undefined {
  if (NOT_ATTRIBUTES.has(name) || !Object.hasOwn(event, name)) return undefined;
  const raw = event[name];
  switch (typeof raw) {
    case 'string':
    case 'boolean':
      return raw;
    case 'number':
      return Number.isInteger(raw) && raw >= INT32_MIN && raw <= INT32_MAX ? raw : String(raw);
    case 'undefined':
      return undefined;
    case 'bigint':
      return raw.toString();
    default:
      if (raw === null) return undefined;
      if (raw instanceof Date) return raw.toISOString();
      if (raw instanceof Uint8Array) return Buffer.from(raw).toString('base64');
      return typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
  }
}

function toBoolean(ctx: Ctx, v: CesqlValue, at: Position): boolean {
  const b = castToBoolean(v, false);
  if (b !== undefined) return b;
  fail(ctx, 'cast', at, `cannot cast ${typeOf(v)} '${castToString(v)}' to Boolean`);
  return false;
}

function toInteger(ctx: Ctx, v: CesqlValue, at: Position): number {
  const n = castToInteger(v);
  if (n !== undefined) return n;
  fail(ctx, 'cast', at, `cannot cast ${typeOf(v)} '${castToString(v)}' to Integer`);
  return 0;
}

function castTo(ctx: Ctx, v: CesqlValue, t: CesqlType | 'Any', at: Position): CesqlValue {
  switch (t) {
    case 'Boolean':
      return toBoolean(ctx, v, at);
    case 'Integer':
      return toInteger(ctx, v, at);
    case 'String':
      return castToString(v);
    default:
      return v;
  }
}

function checked(ctx: Ctx, n: number, at: Position, what: string): number {
  if (n > INT32_MAX) {
    fail(ctx, 'math', at, `${what} overflows a 32-bit integer`);
    return INT32_MAX;
  }
  if (n < INT32_MIN) {
    fail(ctx, 'math', at, `${what} overflows a 32-bit integer`);
    return INT32_MIN;
  }
  return n;
}

/** `=` between values of different types casts the left one to the right one's type (§3.7). */
function equals(ctx: Ctx, left: CesqlValue, right: CesqlValue, at: Position): boolean {
  if (typeof left === typeof right) return left === right;
  return castTo(ctx, left, typeOf(right), at) === right;
}

function evalBinary(ctx: Ctx, node: BinaryNode): CesqlValue {
  const before = ctx.count;
  const op = node.op;
  if (op === 'AND' || op === 'OR') {
    const l = evalNode(ctx, node.left);
    if (ctx.count !== before) return false;
    const lb = toBoolean(ctx, l, node);
    if (op === 'AND' ? !lb : lb) return lb;
    const r = evalNode(ctx, node.right);
    if (ctx.count !== before) return false;
    return toBoolean(ctx, r, node);
  }
  const l = evalNode(ctx, node.left);
  const r = evalNode(ctx, node.right);
  switch (op) {
    case 'XOR':
      if (ctx.count !== before) return false;
      return toBoolean(ctx, l, node) !== toBoolean(ctx, r, node);
    case '=':
      if (ctx.count !== before) return false;
      return equals(ctx, l, r, node);
    case '!=':
      if (ctx.count !== before) return false;
      return !equals(ctx, l, r, node);
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (ctx.count !== before) return false;
      const a = toInteger(ctx, l, node);
      const b = toInteger(ctx, r, node);
      return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
    }
    default: {
      if (ctx.count !== before) return 0;
      const a = toInteger(ctx, l, node);
      const b = toInteger(ctx, r, node);
      switch (op) {
        case '+':
          return checked(ctx, a + b, node, `${a} + ${b}`);
        case '-':
          return checked(ctx, a - b, node, `${a} - ${b}`);
        case '*':
          return checked(ctx, a * b, node, `${a} * ${b}`);
        case '/':
          if (b === 0) {
            fail(ctx, 'math', node, 'division by zero');
            return 0;
          }
          return checked(ctx, Math.trunc(a / b), node, `${a} / ${b}`);
        case '%':
          if (b === 0) {
            fail(ctx, 'math', node, 'modulo by zero');
            return 0;
          }
          return a % b;
      }
    }
  }
}

function evalIn(ctx: Ctx, node: InNode): boolean {
  const before = ctx.count;
  const x = evalNode(ctx, node.operand);
  const items = node.items;
  const values: CesqlValue[] = new Array<CesqlValue>(items.length);
  for (let i = 0; i < items.length; i++) values[i] = evalNode(ctx, items[i] as CesqlNode);
  if (ctx.count !== before) return false;
  // The left operand's type is the target type for every element (§3.7).
  const target = typeOf(x);
  let found = false;
  for (const v of values) {
    if (castTo(ctx, v, target, node) === x) {
      found = true;
      break;
    }
  }
  return node.negated ? !found : found;
}

function evalCall(ctx: Ctx, node: CallNode): CesqlValue {
  const fn = node.fn;
  if (fn === undefined) {
    fail(ctx, 'missingFunction', node, `no function ${node.name} with ${node.args.length} argument(s)`);
    return false;
  }
  const before = ctx.count;
  const args: CesqlValue[] = new Array<CesqlValue>(node.args.length);
  for (let i = 0; i < node.args.length; i++) args[i] = evalNode(ctx, node.args[i] as CesqlNode);
  if (ctx.count !== before) return zeroOf(fn.returns);
  for (let i = 0; i < args.length; i++) {
    const t = i < fn.params.length ? fn.params[i] : fn.variadic;
    args[i] = castTo(ctx, args[i] as CesqlValue, t ?? 'Any', node);
  }
  return fn.call(args, (kind, message) => fail(ctx, kind, node, message));
}

function evalNode(ctx: Ctx, node: CesqlNode): CesqlValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'attribute': {
      const v = readAttribute(ctx.event, node.name);
      if (v !== undefined) return v;
      fail(ctx, 'missingAttribute', node, `the event has no attribute '${node.name}'`);
      return false;
    }
    case 'exists':
      return readAttribute(ctx.event, node.name) !== undefined;
    case 'not': {
      const before = ctx.count;
      const v = evalNode(ctx, node.operand);
      if (ctx.count !== before) return false;
      return !toBoolean(ctx, v, node);
    }
    case 'negate': {
      const before = ctx.count;
      const v = evalNode(ctx, node.operand);
      if (ctx.count !== before) return 0;
      const n = toInteger(ctx, v, node);
      return checked(ctx, -n, node, `-(${n})`);
    }
    case 'binary':
      return evalBinary(ctx, node);
    case 'like': {
      const before = ctx.count;
      const v = evalNode(ctx, node.operand);
      if (ctx.count !== before) return false;
      const matched = node.matcher.test(castToString(v));
      return node.negated ? !matched : matched;
    }
    case 'in':
      return evalIn(ctx, node);
    case 'call':
      return evalCall(ctx, node);
  }
}

function asRecord(event: CesqlInput): Readonly<Record<string, unknown>> {
  return event as unknown as Readonly<Record<string, unknown>>;
}

/** Evaluates an expression against an event; evaluation errors are returned, never thrown. */
export function evaluateCesql(expr: CesqlExpression, event: CesqlInput): CesqlResult {
  const errors: CesqlError[] = [];
  const ctx: Ctx = { event: asRecord(event), errors, count: 0 };
  const value = evalNode(ctx, expr.root);
  return { value, errors };
}

/**
 * The Subscriptions API / Knative filter rule: the event passes only when the result is the Boolean
 * `true` and the evaluation raised no error. Builds no error objects.
 */
export function cesqlMatches(expr: CesqlExpression, event: CesqlInput): boolean {
  const ctx: Ctx = { event: asRecord(event), errors: undefined, count: 0 };
  const value = evalNode(ctx, expr.root);
  return value === true && ctx.count === 0;
}
