// Types of scripts/console.mjs for the TypeScript that imports it (bench/console.ts).
export function consoleFresh(): boolean;
export function canBuildConsole(): boolean;
export function buildConsole(): Promise<void>;
export function ensureConsole(log?: (line: string) => void): Promise<boolean>;
