export interface Proc {
  pid: number;
  args: string;
}
/** Every process below `root` (children, grandchildren, ...), with its command line; `ps` itself excluded. */
export function descendants(root: number): Promise<Proc[]>;
/** The fields of /proc/PID/stat after the command name (field 3, the state, first), or null once it is gone. */
export function statFields(pid: number): string[] | null;
/** Running (a zombie awaiting its reaper is not). */
export function alive(pid: number): boolean;
/** The parent's pid, or null once the process is gone. */
export function parentOf(pid: number): number | null;
/** The command line, its arguments joined by spaces; '' once the process is gone. */
export function commandOf(pid: number): string;
/** One line on why a process is still there: command line, state, parent, wait channel, signal masks. */
export function explain(pid: number): string;
/** /proc/PID/status as fields (State, PPid, Threads, Cpus_allowed_list, ...); empty once the process is gone. */
export function procStatus(pid: number): Record<string, string>;
/** The environment a process started with (/proc/PID/environ); empty once the process is gone. */
export function procEnv(pid: number): Record<string, string>;
