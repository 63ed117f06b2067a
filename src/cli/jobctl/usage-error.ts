/** A mistake on the command line found after parsing (a bad filter, bad JSON): exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
