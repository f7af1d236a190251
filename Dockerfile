# The one Wisp image. Its entrypoint is `wisp`; the arguments pick what runs, e.g.
#   docker run <registry>/wisp:0.1.0 up --runtime kubernetes --component activator --host 0.0.0.0 --api-host 0.0.0.0
# `--component` (env WISP_COMPONENT) is controller, activator, broker or all (the default: every role in one process).
# manifests/500-controller.yaml, 510-activator.yaml and 520-broker.yaml run one Deployment per component from this
# image. Or `wisp --help`.
#
# Build from the repository root:  docker build -t <registry>/wisp:0.1.0 .
#
# Two stages: `build` compiles the TypeScript with the dev dependencies; the runtime stage is a slim Node with the
# production dependencies, the compiled application (core, src, activator, autoscaler, broker: no tests) and
# bin/wisp.js, run as the unprivileged user `node` (uid 1000).

ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /build
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` would compile before the sources are here, and the `node` dev dependency would
# download a second Node; the image's Node runs tsc.
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY core ./core
COPY src ./src
COPY activator ./activator
COPY autoscaler ./autoscaler
COPY broker ./broker
# The application only (tsconfig.build.json also compiles test/bench and test/support, which the image does not ship).
RUN printf '%s\n' \
      '{ "extends": "./tsconfig.json",' \
      '  "compilerOptions": { "noEmit": false, "sourceMap": false },' \
      '  "include": ["core", "src", "activator", "autoscaler", "broker"],' \
      '  "exclude": ["**/*.test.ts"] }' > tsconfig.image.json \
 && npx --no-install tsc -p tsconfig.image.json

FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Production dependencies only; no install scripts (the optional native msgpackr-extract falls back to JavaScript).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:${NODE_VERSION}-slim
ARG WISP_VERSION=0.1.0
LABEL org.opencontainers.image.title="wisp" \
      org.opencontainers.image.description="Knative-style serverless platform: wisp up --component controller|activator|broker|all runs the controller and autoscaler, the activator, the broker ingress and dispatcher, or all of them" \
      org.opencontainers.image.version="${WISP_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    WISP_STATE_DIR=/var/lib/wisp
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY package.json ./
COPY bin ./bin
# /var/lib/wisp: the state dir (the control API token, the state-dir lock), owned by the runtime user; in the cluster
# an emptyDir is mounted over it.
RUN chmod 0755 bin/wisp.js \
 && ln -s /app/bin/wisp.js /usr/local/bin/wisp \
 && mkdir -p /var/lib/wisp \
 && chown 1000:1000 /var/lib/wisp
# `node` (1000:1000) comes with the Node image; numeric, so Kubernetes' runAsNonRoot can check it.
USER 1000:1000
# 8080 activator, 8081 broker ingress, 8082 the autoscaler's stats endpoint (controller), 8090 control API and probes.
EXPOSE 8080 8081 8082 8090
ENTRYPOINT ["wisp"]
CMD ["--help"]
