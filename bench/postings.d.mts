// Types of bench/postings.mjs for tests/unit/bench-extraction.test.ts.
import type { z } from 'zod';

export interface Salary {
  min: number;
  max: number;
  currency: string;
}
export interface Expected {
  title: string;
  company: string;
  location: string;
  workMode: 'onsite' | 'hybrid' | 'remote';
  seniority: 'junior' | 'mid' | 'senior' | 'lead';
  employmentType: 'full-time' | 'part-time' | 'contract' | 'internship';
  salary: Salary;
  skills: string[];
}
export interface Posting {
  id: number;
  text: string;
  expected: Expected;
}
export interface PostingOptions {
  seed?: number;
  minTokens?: number;
  maxTokens?: number;
}
export interface Score {
  parsed: boolean;
  valid: boolean;
  fields: Record<keyof Expected, boolean>;
  right: number;
  total: number;
}
export interface ScoreSummary {
  n: number;
  parsed: number;
  valid: number;
  exact: number;
  fields: number;
  perField: Record<keyof Expected, number>;
}
export const CURRENCIES: string[];
export const PostingSchema: z.ZodType<Expected>;
export const FIELDS: (keyof Expected)[];
export const TOKENS_PER_WORD: number;
export function estimateTokens(text: string): number;
export function posting(i: number, opts?: PostingOptions): Posting;
export function postings(n: number, opts?: PostingOptions): Posting[];
export function fieldRight(field: keyof Expected, got: unknown, want: unknown): boolean;
export function scoreAnswer(expected: Expected, answer: { text?: string; value?: unknown; error?: string }): Score;
export function summarizeScores(scores: Score[]): ScoreSummary;
