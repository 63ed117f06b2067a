/** Thrown by a command to end with a given exit code after it has printed its result. */
export class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
