// Types of bench/extraction-report.mjs for tests/unit/bench-extraction.test.ts.
export const TARGETS: Record<string, number>;
export function verdict(q: { ratio: number; lo: number; hi: number; resolved: boolean; reason: string }, target?: number): string;
export function extractionReport(result: unknown, label: Record<string, string>): string;
