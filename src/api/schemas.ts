/** Shapes of the resource kinds, as JSON schemas. Semantic rules live in the per-kind modules. */
import type { JsonSchema } from './schema.js';

const str: JsonSchema = { type: 'string' };
const int: JsonSchema = { type: 'integer' };
const bool: JsonSchema = { type: 'boolean' };
const stringMap: JsonSchema = { type: 'object', additionalProperties: str };
const anyValue: JsonSchema = { anyValue: true };
const anyObject: JsonSchema = { type: 'object', additionalProperties: true };

export const metadataSchema: JsonSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: str,
    namespace: str,
    generateName: str,
    uid: str,
    generation: int,
    resourceVersion: str,
    creationTimestamp: str,
    deletionTimestamp: str,
    labels: stringMap,
    annotations: stringMap,
    finalizers: { type: 'array', items: str },
    managedFields: anyValue,
    ownerReferences: {
      type: 'array',
      items: {
        type: 'object',
        required: ['apiVersion', 'kind', 'name'],
        properties: { apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool },
      },
    },
  },
};

const envVar: JsonSchema = {
  type: 'object',
  required: ['name'],
  properties: { name: str, value: str, valueFrom: anyObject },
};

const httpGet: JsonSchema = {
  type: 'object',
  properties: {
    path: str,
    port: int,
    host: str,
    scheme: { type: 'string', enum: ['HTTP', 'HTTPS'] },
    httpHeaders: { type: 'array', items: { type: 'object', required: ['name', 'value'], properties: { name: str, value: str } } },
  },
};

const probe: JsonSchema = {
  type: 'object',
  properties: {
    httpGet,
    tcpSocket: { type: 'object', properties: { port: int, host: str } },
    exec: { type: 'object', properties: { command: { type: 'array', items: str } } },
    grpc: { type: 'object', properties: { port: int, service: str } },
    initialDelaySeconds: int,
    periodSeconds: int,
    timeoutSeconds: int,
    successThreshold: int,
    failureThreshold: int,
  },
};

export const containerSchema: JsonSchema = {
  type: 'object',
  properties: {
    name: str,
    image: str,
    imagePullPolicy: str,
    command: { type: 'array', items: str },
    args: { type: 'array', items: str },
    env: { type: 'array', items: envVar },
    envFrom: anyValue,
    workingDir: str,
    ports: { type: 'array', items: { type: 'object', properties: { containerPort: int, name: str, protocol: str } } },
    readinessProbe: probe,
    livenessProbe: probe,
    resources: anyObject,
    securityContext: anyObject,
    volumeMounts: anyValue,
  },
};

export const trafficTargetSchema: JsonSchema = {
  type: 'object',
  properties: { tag: str, revisionName: str, configurationName: str, latestRevision: bool, percent: int, url: str },
};

export const revisionSpecSchema: JsonSchema = {
  type: 'object',
  properties: {
    containers: { type: 'array', items: containerSchema },
    containerConcurrency: int,
    timeoutSeconds: int,
    responseStartTimeoutSeconds: int,
    idleTimeoutSeconds: int,
    serviceAccountName: str,
    volumes: anyValue,
    imagePullSecrets: anyValue,
    enableServiceLinks: bool,
  },
};

/**
 * A namespaced resource of one kind: `apiVersion`, `kind`, `metadata`, the given `spec`, any `status`. Unknown
 * fields of the spec are reported as warnings by the schema layer.
 */
export function resourceSchema(spec: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata'],
    properties: { apiVersion: str, kind: str, metadata: metadataSchema, spec, status: anyValue },
  };
}

export const serviceSchema: JsonSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: str,
    kind: str,
    metadata: metadataSchema,
    spec: {
      type: 'object',
      required: ['template'],
      properties: {
        template: {
          type: 'object',
          properties: {
            metadata: {
              type: 'object',
              properties: { name: str, generateName: str, labels: stringMap, annotations: stringMap },
            },
            spec: revisionSpecSchema,
          },
        },
        traffic: { type: 'array', items: trafficTargetSchema },
      },
    },
    status: anyValue,
  },
};

export const configMapSchema: JsonSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata'],
  properties: { apiVersion: str, kind: str, metadata: metadataSchema, data: stringMap, binaryData: stringMap, immutable: bool },
};

/** Brokers, Triggers, sources and platform-owned kinds: metadata checked, spec and status taken as they are. */
export const genericSchema: JsonSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata'],
  properties: { apiVersion: str, kind: str, metadata: metadataSchema, spec: anyObject, status: anyValue },
};
