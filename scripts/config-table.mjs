#!/usr/bin/env node
// Writes README's configuration table from the zod schema (the one source of truth): option, environment
// variable, YAML key, default, meaning; each field carries its environment variable, YAML key and vLLM name as
// zod metadata (src/options.ts). Run after `npm run build:ts`. `--check`: exit 1 when README's table differs.
import { readFileSync, writeFileSync } from 'node:fs';

import { EngineOptionsSchema, OPTION_SOURCES } from '../dist/index.js';

function unwrap(s) {
  let def;
  let desc = s.description;
  while (s?._zod?.def && ['default', 'optional', 'nullable'].includes(s._zod.def.type)) {
    if (s._zod.def.type === 'default') def = s._zod.def.defaultValue;
    s = s._zod.def.innerType;
    desc ??= s.description;
  }
  return { inner: s, def, desc };
}

const rows = [];
for (const [key, schema] of Object.entries(EngineOptionsSchema.shape)) {
  const { inner, def, desc } = unwrap(schema);
  if (key === 'sampling') {
    for (const [sk, ss] of Object.entries(inner.shape)) {
      const u = unwrap(ss);
      rows.push([`sampling.${sk}`, u.def, u.desc]);
    }
    continue;
  }
  rows.push([key, def, desc]);
}
const fmt = (v) => (v === undefined ? '—' : `\`${JSON.stringify(v)}\``);
const table = [
  '| option | environment | YAML key | default | meaning |',
  '| --- | --- | --- | --- | --- |',
  ...rows.map(([k, d, desc]) => {
    const src = OPTION_SOURCES[k] ?? {};
    return `| \`${k}\` | ${src.env ? `\`${src.env}\`` : '—'} | ${src.yaml ? `\`${src.yaml}\`` : '—'} | ${fmt(d)} | ${(desc ?? '').replace(/\|/g, '\\|')} |`;
  }),
].join('\n');
const readme = readFileSync('README.md', 'utf8');
const out = readme.replace(/<!-- config-table:start -->[\s\S]*<!-- config-table:end -->/, `<!-- config-table:start -->\n${table}\n<!-- config-table:end -->`);
if (process.argv.includes('--check')) {
  if (out !== readme) {
    console.error("README's configuration table differs from src/options.ts: run `node scripts/config-table.mjs`");
    process.exit(1);
  }
} else {
  writeFileSync('README.md', out);
  console.log(table);
}
