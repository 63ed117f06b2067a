/**
 * Structured logs (pino, JSON lines on stderr). Headers that carry credentials are redacted
 * wherever they appear, so a token never reaches a log line.
 */
import { pino } from "pino";

export type Logger = pino.Logger;

/** `destination` defaults to stderr; tests pass a stream to read the lines. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "job-service" },
      redact: {
        paths: ["*.token", "*.authorization", "*.headers.token", "*.headers.authorization", "*.secret"],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination(2),
  );
}
