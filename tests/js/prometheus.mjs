// A strict parser of the Prometheus text exposition format 0.0.4, for the tests: it throws on
// anything a Prometheus server would reject or that the format forbids (a bad metric or label
// name, a bad escape or value, a TYPE after the family's samples, a family split in two, a
// duplicate series, a negative counter, no newline at the end).
// As a command: `node prometheus.mjs < metrics.txt` prints the families as JSON.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text, where) {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value "${text}"`);
  return Number(text);
}

// name{a="x",b="y"} -> [name, {a, b}, rest]
function parseSeries(line, where) {
  const m = /^([^\s{]+)/.exec(line);
  if (!m || !NAME.test(m[1])) throw new Error(`${where}: bad metric name`);
  let i = m[1].length;
  const labels = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const n = /^([^=\s]+)="/.exec(line.slice(i));
      if (!n || !LABEL.test(n[1])) throw new Error(`${where}: bad label name`);
      if (n[1] in labels) throw new Error(`${where}: label ${n[1]} twice`);
      i += n[0].length;
      let value = '';
      for (;;) {
        const c = line[i++];
        if (c === undefined) throw new Error(`${where}: unterminated label value`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`${where}: bad escape \\${e}`);
        } else value += c;
      }
      labels[n[1]] = value;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`${where}: expected , or }`);
    }
    i++;
  }
  return [m[1], labels, line.slice(i)];
}

export function parsePrometheus(text) {
  if (!text.endsWith('\n')) throw new Error('the text does not end with a newline');
  const families = new Map();
  const series = new Set();
  let current = null;
  const family = (name) => {
    if (!families.has(name)) families.set(name, { type: 'untyped', help: null, samples: [], typed: false });
    return families.get(name);
  };
  text.slice(0, -1).split('\n').forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return;  // a plain comment
      if (!NAME.test(m[2])) throw new Error(`${where}: bad metric name in ${m[1]}`);
      const f = family(m[2]);
      if (f.samples.length) throw new Error(`${where}: ${m[1]} for ${m[2]} after its samples`);
      if (m[1] === 'TYPE') {
        if (f.typed) throw new Error(`${where}: second TYPE for ${m[2]}`);
        if (!TYPES.has(m[3])) throw new Error(`${where}: unknown type ${m[3]}`);
        f.type = m[3];
        f.typed = true;
      } else {
        if (f.help !== null) throw new Error(`${where}: second HELP for ${m[2]}`);
        f.help = m[3];
      }
      current = m[2];
      return;
    }
    const [name, labels, rest] = parseSeries(line, where);
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`${where}: expected " value [timestamp]"`);
    const value = parseValue(parts[0], where);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
    const base = name.replace(/_(sum|count|bucket|total|created)$/, '');
    const owner = families.has(name) ? name : families.has(base) ? base : name;
    if (current !== owner && families.has(owner) && families.get(owner).samples.length)
      throw new Error(`${where}: samples of ${owner} are not together`);
    current = owner;
    const f = family(owner);
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`${where}: counter ${name} is ${value}`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (series.has(key)) throw new Error(`${where}: duplicate series ${key}`);
    series.add(key);
    f.samples.push({ name, labels, value });
  });
  return families;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const families = parsePrometheus(readFileSync(0, 'utf8'));
    console.log(JSON.stringify(Object.fromEntries([...families].map(([k, f]) => [k, { type: f.type, samples: f.samples }]))));
  } catch (e) {
    console.error(`not Prometheus text: ${e.message}`);
    process.exit(1);
  }
}
