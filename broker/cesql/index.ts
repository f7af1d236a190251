/** CloudEvents SQL (CESQL) v1.0: parse once, evaluate per event. */
export { parseCesql, compileLikePattern } from './parser.js';
export type { CesqlParseOptions } from './parser.js';
export { evaluateCesql, cesqlMatches, readAttribute } from './evaluator.js';
export type { CesqlResult, CesqlInput } from './evaluator.js';
export { CesqlError, CesqlParseError, ERROR_CODES } from './errors.js';
export type { CesqlErrorKind, CesqlErrorCode, CesqlErrorOptions } from './errors.js';
export { tokenize } from './lexer.js';
export type { Token, TokenKind } from './lexer.js';
export type { CesqlExpression, CesqlNode, CesqlValue, CesqlType, BinaryOp, Position } from './ast.js';
