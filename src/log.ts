/**
 * Structured logs (pino, JSON lines on stderr). Headers that carry credentials are redacted
 * wherever they appear, so a token never reaches a log line.
 */
import { pino } from "pino";

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: "job-service" },
      redact: {
        paths: ["*.token", "*.authorization", "*.headers.token", "*.headers.authorization", "*.secret"],
        censor: "[redacted]",
      },
    },
    pino.destination(2),
  );
}
