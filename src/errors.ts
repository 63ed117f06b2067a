/**
 * SpaceONE errors (python-core `error.py`, docs/compatibility.md, "Errors"): an `ERROR_*` code, a status and a message.
 *
 * Every layer throws these; only the wire layer turns them into protocol errors (Connect/gRPC:
 * status + "ERROR_CODE: message" as the message; REST: {"detail": {"code", "message"}}).
 * Messages never carry secrets: callers pass field names and user values, never tokens or keys.
 */

/** gRPC status names, as the wire layer maps them (docs/compatibility.md, "Errors"). */
export type StatusName =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "unauthenticated"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "resource_exhausted"
  | "deadline_exceeded"
  | "unavailable"
  | "unimplemented"
  | "internal";

export class SpaceOneError extends Error {
  override readonly name = "SpaceOneError";
  constructor(
    readonly code: string,
    readonly status: StatusName,
    message: string,
    /** Extra machine-readable detail (e.g. `{reason: "EXPIRED"}`); never secrets. */
    readonly meta: Record<string, string> = {},
  ) {
    super(message);
  }

  /** The details string SpaceONE puts in gRPC status details: "ERROR_CODE: message". */
  get details(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Render a value the way SpaceONE messages show it, bounded so a huge input cannot bloat an error. */
export function show(value: unknown, max = 200): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  if (text === undefined) text = String(value);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

export const errors = {
  requiredParameter: (key: string) =>
    new SpaceOneError("ERROR_REQUIRED_PARAMETER", "invalid_argument", `Required parameter. (key = ${key})`),
  invalidParameter: (key: string, reason: string) =>
    new SpaceOneError(
      "ERROR_INVALID_PARAMETER",
      "invalid_argument",
      `Parameter is invalid. (key = ${key}, reason = ${reason})`,
    ),
  invalidParameterType: (key: string, type: string) =>
    new SpaceOneError(
      "ERROR_INVALID_PARAMETER_TYPE",
      "invalid_argument",
      `Parameter type is invalid. (key = ${key}, type = ${type})`,
    ),
  operatorValueType: (key: string, operator: string, condition: unknown) =>
    new SpaceOneError(
      "ERROR_OPERATOR_VALUE_TYPE",
      "invalid_argument",
      `The value of '${operator} operator' does not support list type. (key = ${key}, condition = ${show(condition)})`,
    ),
  operatorListValueType: (key: string, operator: string, condition: unknown) =>
    new SpaceOneError(
      "ERROR_OPERATOR_LIST_VALUE_TYPE",
      "invalid_argument",
      `The value of '${operator} operator' must be a list type. (key = ${key}, condition = ${show(condition)})`,
    ),
  operatorDictValueType: (key: string, operator: string, condition: unknown) =>
    new SpaceOneError(
      "ERROR_OPERATOR_DICT_VALUE_TYPE",
      "invalid_argument",
      `The value of '${operator} operator' must be a dictionary type. (key = ${key}, condition = ${show(condition)})`,
    ),
  operatorBooleanType: (key: string, operator: string, condition: unknown) =>
    new SpaceOneError(
      "ERROR_OPERATOR_BOOLEAN_TYPE",
      "invalid_argument",
      `The value of '${operator} operator' must be a boolean type. (key = ${key}, condition = ${show(condition)})`,
    ),
  notFound: (key: string, value: string, meta: Record<string, string> = {}) =>
    new SpaceOneError(
      "ERROR_NOT_FOUND",
      "not_found",
      `Resource cannot be found or access is denied. (${key} = ${value})`,
      meta,
    ),
  authenticateFailure: (message: string) =>
    new SpaceOneError(
      "ERROR_AUTHENTICATE_FAILURE",
      "unauthenticated",
      `Authenticate failure. (message = ${message})`,
    ),
  permissionDenied: () =>
    new SpaceOneError("ERROR_PERMISSION_DENIED", "permission_denied", "Permission denied."),
  notImplemented: (what: string) =>
    new SpaceOneError("ERROR_NOT_IMPLEMENTED", "unimplemented", `Not implemented. (${what})`),
  unavailable: (reason: string) =>
    new SpaceOneError("ERROR_UNAVAILABLE", "unavailable", `Server is unavailable. (reason = ${reason})`),
  resultTooLarge: (key: string, reason: string) =>
    new SpaceOneError(
      "ERROR_INVALID_PARAMETER",
      "invalid_argument",
      `Parameter is invalid. (key = ${key}, reason = ${reason})`,
    ),
  outOfRange: (key: string, reason: string) =>
    new SpaceOneError(
      "ERROR_OUT_OF_RANGE",
      "out_of_range",
      `Parameter is out of range. (key = ${key}, reason = ${reason})`,
    ),
  unknown: (message: string) => new SpaceOneError("ERROR_UNKNOWN", "internal", message),
};
