# Hangar as a container: the same command a checkout runs (`npm start`).
FROM node:20-bookworm-slim
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
CMD ["node", "bin/hangar.js", "serve"]
