// Process-tree checks for the exit and lifecycle tests and bench/exit.mjs. Asynchronous: a synchronous `ps`
// in a vitest worker blocks its event loop (and vitest's RPC with it). Types: processes.d.mts.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every process below `root` (children, grandchildren, ...), with its command line; `ps` itself excluded. */
export async function descendants(root) {
  const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,args=']);
  const children = new Map();
  for (const line of stdout.trim().split('\n')) {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    const proc = { pid: Number(pid), args: args.join(' ') };
    if (proc.args.startsWith('ps ')) continue;
    children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), proc]);
  }
  const out = [];
  const walk = (parent) => {
    for (const c of children.get(parent) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

/** The fields of /proc/PID/stat after the command name (field 3, the state, first), or null once it is gone. */
export function statFields(pid) {
  const stat = procFile(pid, 'stat');
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : null;
}

/** Running (a zombie awaiting its reaper is not: it holds no memory and runs no code). */
export function alive(pid) {
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z';
}

/** The parent's pid, or null once the process is gone. */
export function parentOf(pid) {
  const f = statFields(pid);
  return f ? Number(f[1]) : null;
}

/** A file under /proc/PID, or '' once the process is gone. */
function procFile(pid, f) {
  try {
    return readFileSync(`/proc/${pid}/${f}`, 'utf8');
  } catch {
    return '';
  }
}

/** /proc/PID/status as fields (State, PPid, Threads, Cpus_allowed_list, ...); empty once the process is gone. */
export function procStatus(pid) {
  return Object.fromEntries(
    procFile(pid, 'status')
      .split('\n')
      .map((l) => l.split(':\t'))
      .filter((kv) => kv.length === 2)
      .map(([k, v]) => [k, v.trim()]),
  );
}

/** The environment a process started with (/proc/PID/environ); empty once the process is gone. */
export function procEnv(pid) {
  return Object.fromEntries(
    procFile(pid, 'environ')
      .split('\0')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** The command line, its arguments joined by spaces; '' once the process is gone. */
export function commandOf(pid) {
  return procFile(pid, 'cmdline').replaceAll('\0', ' ').trim();
}

/**
 * One line on why a process is still there: its command line, state, parent, what the kernel says it waits in,
 * and the signals it has pending, blocks and handles (a process stuck in its own handler shows it here).
 */
export function explain(pid) {
  const status = procStatus(pid);
  return (
    `${pid} "${commandOf(pid)}" state=${status.State} ppid=${status.PPid} wchan=${procFile(pid, 'wchan') || '?'} threads=${status.Threads} ` +
    `sigpnd=${status.ShdPnd} sigblk=${status.SigBlk} sigcgt=${status.SigCgt}`
  );
}
