// Types of live-check.mjs, for the TypeScript client's check (examples/typescript-client).
export function endpoint(): string;
export function authorization(): string | undefined;
export function check(what: string, ok: boolean, got?: unknown, expected?: unknown): boolean;
export function checkEq(what: string, got: unknown, expected: unknown): boolean;
export function finish(): never;
export function run(main: () => Promise<void>): Promise<never>;
export function post(url: string, query: string, variables?: Record<string, unknown>): Promise<any>;
export function data(url: string, query: string, variables?: Record<string, unknown>): Promise<any>;
export function createConversations(
  url: string,
  label: string,
  count: number,
): Promise<{ customerId: string; created: { id: string; nodeId: string; name: string }[] }>;
export function rename(url: string, id: string, name: string): Promise<string>;
export function deleteConversations(url: string, ids: string[]): Promise<void>;
export function distinct(list: unknown[]): boolean;
