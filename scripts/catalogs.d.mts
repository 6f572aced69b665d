export function vacuumCatalogs(client: { query(sql: string): Promise<unknown> }): Promise<string | null>;
