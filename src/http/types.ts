import type { FastifyInstance, FastifyBaseLogger, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { RouteDoc } from './openapi.js';

/** A Fastify instance whose routes infer request types from their TypeBox schemas. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The account the request's credential belongs to (set by the cloud's auth hook). */
    accountId: string;
    /**
     * Until when an answer to this request may be replayed to the same credential (see
     * http/read-cache.ts): set by the cloud's auth to the credential's expiry (Infinity: none),
     * left at 0 when every request must reach the routes (a rate limit counting them).
     */
    replayableUntil: number;
    /** The store's read version as the request began, on routes that keep their answers. */
    readVersion: string;
    /**
     * The lookup of a credential the cloud's auth left to the route to check, in the statement
     * that reads what the route answers (one round trip on PostgreSQL); null once checked.
     */
    deferredCredential: string | null;
    /** The request's body text as it arrived (JSON bodies), for the journal. */
    journalBody: string | null;
    /** The answer's payload as sent, for the journal. */
    journalAnswer: string | Buffer | null;
  }
  interface FastifyContextConfig {
    doc?: RouteDoc;
    /** GET answers of this route may be kept and replayed while nothing changed. */
    cache?: boolean;
    /** The route reads with the request's credential in one statement (see deferredCredential). */
    fused?: boolean;
  }
}
