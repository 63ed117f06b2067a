/** What every command needs: the clients, the terminal it writes to, the clock. */
import type { Command } from "commander";
import { type Connection, connect, DEFAULT_URL } from "./connection.js";
import { detectTerminal, type Terminal } from "./render/terminal.js";

export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
  /** Ends long-running commands (watch) as Ctrl-C does; for embedding and tests. */
  readonly stop?: AbortSignal;
}

export interface CommandContext {
  readonly conn: Connection;
  readonly terminal: Terminal;
  readonly io: CliIo;
  print(text: string): void;
}

export function contextOf(command: Command, io: CliIo): CommandContext {
  const global = command.optsWithGlobals<{ url?: string; token?: string; color: boolean }>();
  const url = global.url ?? io.env.JOB_SERVICE_URL ?? DEFAULT_URL;
  const token = global.token ?? io.env.TOKEN;
  return {
    conn: connect({ url, token, color: global.color }),
    terminal: detectTerminal(io.stdout, io.env, global.color),
    io,
    print: (text) => {
      io.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
    },
  };
}
