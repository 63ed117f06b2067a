/**
 * What jobctl may do with its output: colour and live redrawing only on a terminal, never when
 * NO_COLOR is set (no-color.org) or `--no-color` is given; the table width from the terminal, or
 * COLUMNS, or 120 for pipes (a pipe gets the whole row: `-o wide | less -S`).
 */
import pc from "picocolors";

export interface Terminal {
  /** Colours on. */
  readonly color: boolean;
  /** Live redrawing (progress bars) on: stdout is a terminal. */
  readonly live: boolean;
  readonly width: number;
  readonly paint: ReturnType<typeof pc.createColors>;
}

export function detectTerminal(
  stream: NodeJS.WriteStream,
  env: NodeJS.ProcessEnv,
  colorFlag: boolean,
): Terminal {
  const tty = stream.isTTY === true;
  const color = tty && colorFlag && !env.NO_COLOR && env.TERM !== "dumb";
  const columns = Number(env.COLUMNS);
  const width =
    tty && stream.columns ? stream.columns : Number.isInteger(columns) && columns > 0 ? columns : 120;
  return { color, live: tty && env.TERM !== "dumb", width, paint: pc.createColors(color) };
}
