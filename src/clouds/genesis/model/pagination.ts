import type { SelectQueryBuilder } from 'kysely';

export interface PageRequest {
  page: number;
  perPage: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  perPage: number;
}

/**
 * One page of an account's resources in creation order (their `seq`). Totals come from the account's
 * counters (kept in step with every insert and delete), not from a COUNT over the table.
 */
export async function fetchPage<T>(
  query: SelectQueryBuilder<any, any, T>,
  request: PageRequest,
  total: number | Promise<number>,
): Promise<Page<T>> {
  const items = await query
    .orderBy('seq')
    .limit(request.perPage)
    .offset((request.page - 1) * request.perPage)
    .execute();
  return { items, total: await total, page: request.page, perPage: request.perPage };
}

export function pageRequest(query: { page?: number; per_page?: number }): PageRequest {
  return { page: query.page ?? 1, perPage: query.per_page ?? 50 };
}
