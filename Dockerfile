# Hangar as a container image.
#   docker build -t hangar .
#   docker run --rm -p 8080:8080 -e HANGAR_ADMIN_TOKEN=change-me -v hangar-data:/data hangar
#
# Build stage: the compilers better-sqlite3 needs when no prebuilt binary matches, the dev
# dependencies the build uses (TypeScript, esbuild); then only the runtime packages are kept.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
COPY console ./console
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Final stage: Node, the bundle (dist/), the runtime packages (better-sqlite3's compiled addon
# among them) and the `hangar` entry point; no compilers, no sources, not root.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    HANGAR_DATABASE_URL=sqlite:/data/hangar.db \
    HANGAR_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
# The store, its sealing key (secret.key) and the demo credentials live in /data.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
# /readyz answers 503 while the store cannot be reached.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The admin API answers a published port only when HANGAR_ADMIN_TOKEN is set (Bearer); without
# it, only loopback inside the container.
CMD ["node", "bin/hangar.js", "serve"]
