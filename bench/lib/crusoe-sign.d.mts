export function crusoeHeaders(keys: { accessKey: string; secret: string }, method: string, target: string): Record<string, string>;
