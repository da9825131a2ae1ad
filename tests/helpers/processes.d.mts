export interface Proc {
  pid: number;
  args: string;
}
/** Every process below `root` (children, grandchildren, ...), with its command line; `ps` itself excluded. */
export function descendants(root: number): Promise<Proc[]>;
/** Running (a zombie awaiting its reaper is not). */
export function alive(pid: number): boolean;
/** One line on why a process is still there: command line, state, parent, wait channel, signal masks. */
export function explain(pid: number): string;
/** /proc/PID/status as fields (State, PPid, Threads, Cpus_allowed_list, ...); empty once the process is gone. */
export function procStatus(pid: number): Record<string, string>;
/** The environment a process started with (/proc/PID/environ); empty once the process is gone. */
export function procEnv(pid: number): Record<string, string>;
