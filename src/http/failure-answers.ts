import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { classifyFailure, plainFailureBody, type Failure } from './failures.js';
import type { App } from './types.js';

type Render = (failure: Failure) => { status: number; body: unknown };

/** Connections whose current request was answered before its body had arrived (see `trackEarlyAnswers`). */
const answeredEarly = new WeakSet<Socket>();

/**
 * A request answered before its body arrived (refused by auth, say) keeps its connection
 * while the body trickles in; when the request timeout then cuts it off, it must not get a
 * second answer (a keep-alive client would take it for the next request's).
 */
export function trackEarlyAnswers(app: App): void {
  app.addHook('onResponse', async (request) => {
    if (!request.raw.complete) answeredEarly.add(request.raw.socket);
    else answeredEarly.delete(request.raw.socket);
  });
}

/**
 * Answers failures that no cloud's plugin handles (no route matched, the URL did not decode,
 * a request timed out, the server is closing): in the error body of the cloud whose prefix the
 * path is under (the prefix's first segment is enough: `/compute/` is Genesis's, as a client
 * normalising `/compute/v1/%2e%2e` sends it), and in Hangar's own `{code, message}` elsewhere.
 */
export function failureAnswers(clouds: { prefix: string; render: Render }[]) {
  const bySegment = new Map(clouds.map((c) => [firstSegment(c.prefix), c.render]));
  const renderAt = (url: string | undefined, failure: Failure) => {
    const render = url === undefined ? undefined : bySegment.get(firstSegment(url));
    return render ? render(failure) : { status: failure.status, body: plainFailureBody(failure) };
  };
  return {
    reply(error: unknown, request: FastifyRequest, reply: FastifyReply) {
      const failure = classifyFailure(error);
      if (failure.kind === 'internal') request.log.error({ err: error }, 'request failed');
      const { status, body } = renderAt(request.raw.url, failure);
      return reply.code(status).send(body);
    },
    /**
     * A connection's trouble outside any request Fastify handles: a request that did not arrive
     * within the timeout, headers too large, bytes that are not HTTP. When a request's headers
     * were read, its URL says which API's body to answer in.
     */
    clientError(error: Error & { code?: string }, socket: Socket) {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const failure: Failure =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? { kind: 'timeout', status: 408, message: 'the request did not arrive in full within the request timeout' }
          : error.code === 'HPE_HEADER_OVERFLOW'
            ? { kind: 'too_large', status: 431, message: 'the request headers are too large' }
            : { kind: 'malformed', status: 400, message: 'the request is not valid HTTP' };
      const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
      if (socket.writable && !pending?.headersSent && !answeredEarly.has(socket)) {
        const { status, body } = renderAt(pending?.req?.url, failure);
        const text = JSON.stringify(body);
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
        );
      }
      socket.destroy(error);
    },
  };
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

function firstSegment(url: string): string {
  const path = url.split('?')[0]!;
  return path.split('/')[1] ?? '';
}

