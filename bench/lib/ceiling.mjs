#!/usr/bin/env node
// The ceiling: a bare node:http server answering the benchmarked routes with the very bytes
// Hangar answered them with (captured just before), with no auth, no validation and no store.
// Whatever Hangar spends beyond this is its own cost.
//
//   node bench/lib/ceiling.mjs <fixtures.json> [port]
//   fixtures: [{method, prefix, exact?, status, contentType, body (base64)}], first match wins
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const fixtures = JSON.parse(readFileSync(process.argv[2], 'utf8')).map((f) => ({
  ...f,
  body: Buffer.from(f.body, 'base64'),
  headers: { 'content-type': f.contentType, 'content-length': String(Buffer.from(f.body, 'base64').length) },
}));
const notFound = Buffer.from('{"code":"02000","message":"invalid route"}');

const server = createServer((request, response) => {
  const url = request.url ?? '/';
  const path = url.split('?', 1)[0];
  let match;
  for (const f of fixtures) {
    if (f.method === request.method && (f.exact ? path === f.prefix : path.startsWith(f.prefix))) {
      match = f;
      break;
    }
  }
  const send = () => {
    if (!match) {
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(notFound.length) });
      response.end(notFound);
      return;
    }
    response.writeHead(match.status, match.headers);
    response.end(match.body);
  };
  // A request body is read to its end before answering, as any server must.
  if (request.method === 'POST' || request.method === 'PATCH' || request.method === 'PUT') {
    request.on('data', () => undefined);
    request.on('end', send);
  } else {
    send();
  }
});
server.keepAliveTimeout = 72_000;
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : ''}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
