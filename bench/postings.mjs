// Job postings for the extraction benchmark (bench/extraction.mjs, issue 25 item 6): a seeded generator of varied,
// realistic postings of a chosen length (titles, companies, locations, salaries in several notations, work mode,
// seniority, required and nice-to-have skills, boilerplate), each with the fields a correct extraction returns;
// the 8-field zod schema those fields follow (the JSON Schema of the other paths is derived from it); and the
// scoring of an answer against them. Pure: the same seed gives the same postings, nothing here reads a clock.
import { z } from 'zod';

import { rng } from './stats.mjs';

export const CURRENCIES = ['EUR', 'USD', 'GBP', 'CAD', 'AUD', 'SGD', 'PLN'];

export const PostingSchema = z.object({
  title: z.string().describe('The job title as the posting writes it'),
  company: z.string().describe('The hiring company'),
  location: z.string().describe('The city of the office or of the role'),
  workMode: z.enum(['onsite', 'hybrid', 'remote']),
  seniority: z.enum(['junior', 'mid', 'senior', 'lead']),
  employmentType: z.enum(['full-time', 'part-time', 'contract', 'internship']),
  salary: z.object({ min: z.number().int(), max: z.number().int(), currency: z.enum(CURRENCIES) }).describe('Yearly gross salary range in whole units'),
  skills: z.array(z.string()).describe('The required skills (not the nice-to-have ones)'),
});
export const FIELDS = Object.keys(PostingSchema.shape);

const ROLES = ['Software Engineer', 'Data Engineer', 'Product Designer', 'Site Reliability Engineer', 'Machine Learning Engineer', 'Backend Developer', 'Frontend Developer', 'Security Analyst', 'Data Analyst', 'Mobile Developer', 'Platform Engineer', 'QA Engineer', 'DevOps Engineer', 'Solutions Architect'];
const PREFIX = { junior: ['Junior', 'Graduate'], mid: [''], senior: ['Senior'], lead: ['Lead', 'Staff'] };
const COMPANIES = ['Northwind Labs', 'Acme Analytics', 'Blue Harbor Systems', 'Quantum Ledger', 'Greenfield Health', 'Orbital Freight', 'Maple Robotics', 'Silverline Media', 'Cedar Bank', 'Helios Energy', 'Tidewater Games', 'Juniper Logistics', 'Brightpath Education', 'Ironclad Security', 'Lumen Retail', 'Polar Insurance'];
const CITIES = [['Berlin', 'Germany', 'EUR'], ['Lisbon', 'Portugal', 'EUR'], ['Toronto', 'Canada', 'CAD'], ['Austin', 'USA', 'USD'], ['Singapore', 'Singapore', 'SGD'], ['Warsaw', 'Poland', 'PLN'], ['Melbourne', 'Australia', 'AUD'], ['Dublin', 'Ireland', 'EUR'], ['Seattle', 'USA', 'USD'], ['London', 'United Kingdom', 'GBP'], ['Manchester', 'United Kingdom', 'GBP'], ['Amsterdam', 'Netherlands', 'EUR']];
const SKILLS = ['TypeScript', 'Python', 'Kubernetes', 'PostgreSQL', 'Kafka', 'Terraform', 'React', 'Go', 'Rust', 'Spark', 'Airflow', 'GraphQL', 'AWS', 'GCP', 'Linux', 'Java', 'Kotlin', 'Swift', 'Figma', 'SQL', 'Docker', 'Redis', 'PyTorch', 'Snowflake'];
const TEAMS = ['payments', 'search', 'platform', 'growth', 'data infrastructure', 'mobile', 'observability', 'identity', 'billing', 'logistics'];
const VERBS = ['design', 'build', 'operate', 'scale', 'maintain', 'improve', 'document', 'test', 'review', 'migrate'];
const THINGS = ['services', 'pipelines', 'dashboards', 'APIs', 'deployment tooling', 'data models', 'internal libraries', 'alerting', 'batch jobs', 'user interfaces'];
const PERKS = ['a yearly learning budget', 'flexible hours', 'four weeks of paid leave', 'a home-office allowance', 'private health insurance', 'parental leave', 'a pension plan', 'team offsites twice a year', 'a public transport pass', 'a new laptop of your choice'];
const YEARS = { junior: '0-2', mid: '3+', senior: '5+', lead: '8+' };

/** Words to tokens for English prose under the Qwen3 / SmolLM2 tokenizers (measured ~1.3; the bench reports the real count). */
export const TOKENS_PER_WORD = 1.33;
export const estimateTokens = (text) => Math.round(text.split(/\s+/).filter(Boolean).length * TOKENS_PER_WORD);

const cap = (s) => s[0].toUpperCase() + s.slice(1);
const money = (x) => x.toLocaleString('en-US');
const SALARY_FORMATS = [
  (s) => `${money(s.min)} to ${money(s.max)} ${s.currency} per year`,
  (s) => `${s.currency} ${s.min / 1000}k - ${s.max / 1000}k gross annually`,
  (s) => `between ${money(s.min)} and ${money(s.max)} ${s.currency} a year, depending on experience`,
  (s) => `a yearly salary range of ${s.currency} ${money(s.min)}–${money(s.max)}`,
];
const MODE_TEXT = {
  onsite: (c) => `This role is on-site at our ${c} office, five days a week.`,
  hybrid: (c) => `We work hybrid: two to three days a week in the ${c} office, the rest from home.`,
  remote: (c) => `This is a fully remote position; the team's hub is in ${c}, but you can work from anywhere in the time zone.`,
};
const TYPE_TEXT = {
  'full-time': ['Full-time, permanent contract.', 'This is a full-time role (40 hours a week).'],
  'part-time': ['Part-time, 20-24 hours a week.', 'This is a part-time position (three days a week).'],
  contract: ['A 12-month contract, with the option to extend.', 'Contract role for six months, paid monthly.'],
  internship: ['A six-month paid internship.', 'This is an internship for students in their final year.'],
};

/** One posting: its text and the fields a correct extraction returns. `i` and `seed` pick everything; tokens ~ length. */
export function posting(i, { seed = 1, minTokens = 300, maxTokens = 1500 } = {}) {
  const rand = rng((seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const pickSome = (xs, n, not = []) => {
    const left = xs.filter((x) => !not.includes(x));
    const out = [];
    while (out.length < n) out.push(...left.splice(Math.floor(rand() * left.length), 1));
    return out;
  };
  const target = minTokens + Math.floor(rand() * (maxTokens - minTokens + 1));
  const seniority = pick(['junior', 'mid', 'mid', 'senior', 'senior', 'lead']);
  const title = `${pick(PREFIX[seniority])} ${pick(ROLES)}`.trim();
  const company = pick(COMPANIES);
  const [city, country, local] = pick(CITIES);
  const currency = rand() < 0.8 ? local : pick(CURRENCIES);
  const workMode = pick(['onsite', 'hybrid', 'hybrid', 'remote']);
  const employmentType = seniority === 'junior' && rand() < 0.4 ? 'internship' : pick(['full-time', 'full-time', 'full-time', 'part-time', 'contract']);
  const base = { junior: 35, mid: 55, senior: 75, lead: 95 }[seniority] + Math.floor(rand() * 30);
  const salary = { min: base * 1000, max: (base + 10 + Math.floor(rand() * 25)) * 1000, currency };
  const skills = pickSome(SKILLS, 3 + Math.floor(rand() * 4));
  const niceToHave = pickSome(SKILLS, 2, skills);
  const team = pick(TEAMS);

  const head = [
    `${title} — ${company} (${city}, ${country})`,
    '',
    `${company} is looking for a ${title} to join its ${team} team. ${pick(TYPE_TEXT[employmentType])} ${MODE_TEXT[workMode](city)}`,
    '',
    'What you will do:',
    ...Array.from({ length: 3 + Math.floor(rand() * 3) }, () => `- ${cap(pick(VERBS))} and ${pick(VERBS)} ${pick(THINGS)} for the ${pick(TEAMS)} area`),
    '',
    'What we ask for:',
    `- ${YEARS[seniority]} years of professional experience`,
    ...skills.map((s) => `- Hands-on experience with ${s}`),
    '',
    `Nice to have: ${niceToHave.join(', ')}.`,
    '',
    `Compensation: ${pick(SALARY_FORMATS)(salary)}, plus ${pick(PERKS)}.`,
  ];
  // Boilerplate, as real postings carry it, until the posting reaches its length: each stock paragraph once (about
  // us, benefits, how we work, process, EEO), then paragraphs about the team's work, which vary.
  const once = [
    () => `About ${company}: founded in ${1990 + Math.floor(rand() * 33)}, we have grown to ${50 + Math.floor(rand() * 5000)} people across ${2 + Math.floor(rand() * 20)} countries. Our ${pick(TEAMS)} and ${pick(TEAMS)} teams ${pick(VERBS)} ${pick(THINGS)} that thousands of customers rely on every day, and we care about doing that work calmly and well.`,
    () => `Our benefits include ${pickSome(PERKS, 3).join(', ')}. We review pay every year and publish our salary bands internally, so that everyone knows how progression works.`,
    () => `How we work: small teams own their ${pick(THINGS)} end to end. We write things down, review each other's work, and prefer boring technology where it does the job. On-call is shared fairly and compensated.`,
    () => `The hiring process has ${3 + Math.floor(rand() * 3)} steps: a short call with a recruiter, a technical conversation about ${pick(THINGS)}, a practical exercise we pay you for, and a final chat with the team. We answer every application within ${5 + Math.floor(rand() * 10)} working days.`,
    () => `${company} is an equal opportunity employer. We welcome applications from people of every background, age, gender, ethnicity, religion, disability and sexual orientation, and we make reasonable adjustments at any stage of the process.`,
  ];
  const again = [
    () => `In your first months you will pair with engineers on the ${pick(TEAMS)} team, learn how we ${pick(VERBS)} ${pick(THINGS)}, and take over a piece of work of your own. We expect you to ask questions early and to help us ${pick(VERBS)} our ${pick(THINGS)}.`,
    () => `A recent project: the ${pick(TEAMS)} team set out to ${pick(VERBS)} its ${pick(THINGS)} after ${2 + Math.floor(rand() * 20)} incidents in one quarter. It took ${2 + Math.floor(rand() * 9)} weeks, cut the time to ${pick(VERBS)} ${pick(THINGS)} by ${10 + Math.floor(rand() * 80)} percent, and left us with ${pick(THINGS)} that the ${pick(TEAMS)} team now reuses.`,
    () => `Day to day you will work with ${2 + Math.floor(rand() * 8)} engineers, a product manager and a designer. We plan in ${pick(['two-week', 'three-week', 'six-week'])} cycles, ${pick(VERBS)} ${pick(THINGS)} in small steps, and keep a written log of the decisions we make and why.`,
  ];
  const order = pickSome(once, once.length);
  let text = head.join('\n');
  while (estimateTokens(text) < target) {
    const next = `${text}\n\n${(order.shift() ?? pick(again))()}`;
    if (estimateTokens(next) > maxTokens && estimateTokens(text) >= minTokens) break;
    text = next;
  }
  return { id: i, text, expected: { title, company, location: city, workMode, seniority, employmentType, salary, skills } };
}

/** `n` postings, the same for the same seed and sizes. */
export function postings(n, opts = {}) {
  return Array.from({ length: n }, (_, i) => posting(i, opts));
}

const norm = (s) => String(s ?? '').toLowerCase().replace(/[^\p{L}\p{N}+#]+/gu, ' ').trim();

/** Whether one field of an answer is right: text compared without case and punctuation, skills as a set. */
export function fieldRight(field, got, want) {
  if (got === undefined || got === null) return false;
  switch (field) {
    case 'location':
      return norm(got) === norm(want) || norm(String(got).split(',')[0]) === norm(want);
    case 'salary':
      return typeof got === 'object' && got.min === want.min && got.max === want.max && got.currency === want.currency;
    case 'skills': {
      if (!Array.isArray(got)) return false;
      const a = new Set(got.map(norm));
      return a.size === want.length && want.every((s) => a.has(norm(s)));
    }
    default:
      return norm(got) === norm(want);
  }
}

/**
 * One answer against its posting's fields. `answer`: `{ text }` (the raw output of plain vLLM or vllm serve) or
 * `{ value }` (vllm-node's validated value) or `{ error, text? }` (an extraction that failed). parsed: the text is
 * JSON; valid: it follows the schema; right: how many of the 8 fields match.
 */
export function scoreAnswer(expected, answer) {
  let data = answer.value;
  let parsed = answer.value !== undefined;
  if (data === undefined && typeof answer.text === 'string') {
    try {
      data = JSON.parse(answer.text);
      parsed = true;
    } catch {}
  }
  const valid = parsed && PostingSchema.safeParse(data).success;
  const obj = data && typeof data === 'object' && !Array.isArray(data) ? data : {};
  const fields = Object.fromEntries(FIELDS.map((f) => [f, fieldRight(f, obj[f], expected[f])]));
  const right = Object.values(fields).filter(Boolean).length;
  return { parsed, valid, fields, right, total: FIELDS.length };
}

/** Many scores as fractions: parsed, valid, all fields right, the mean fraction of fields right, and per field. */
export function summarizeScores(scores) {
  const n = scores.length;
  const frac = (f) => (n ? scores.filter(f).length / n : 0);
  return {
    n,
    parsed: frac((s) => s.parsed),
    valid: frac((s) => s.valid),
    exact: frac((s) => s.right === s.total),
    fields: n ? scores.reduce((a, s) => a + s.right / s.total, 0) / n : 0,
    perField: Object.fromEntries(FIELDS.map((f) => [f, frac((s) => s.fields[f])])),
  };
}
