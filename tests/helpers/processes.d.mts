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
