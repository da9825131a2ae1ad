// Process-tree checks for the exit and lifecycle tests. Asynchronous: a synchronous `ps` in a vitest worker
// blocks its event loop (and vitest's RPC with it).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Proc {
  pid: number;
  args: string;
}

/** Every process below `root` (children, grandchildren, ...), with its command line; `ps` itself excluded. */
export async function descendants(root: number): Promise<Proc[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,args=']);
  const children = new Map<number, Proc[]>();
  for (const line of stdout.trim().split('\n')) {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    const proc = { pid: Number(pid), args: args.join(' ') };
    if (proc.args.startsWith('ps ')) continue;
    children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), proc]);
  }
  const out: Proc[] = [];
  const walk = (parent: number) => {
    for (const c of children.get(parent) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

/** Running (a zombie awaiting its reaper is not: it holds no memory and runs no code). */
export function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}
