/**
 * The OpenAPI 3.1 document of the REST paths, built from proto descriptors: every rpc with a
 * `google.api.http` rule becomes an operation, its request and response messages JSON schemas in
 * proto JSON form as this service writes it (proto field names, enums as their names, 64-bit
 * integers as strings, well-known types in their JSON form). Run at build time by
 * `scripts/protoc-gen-openapi.ts` through `buf generate`; the output is committed in gen/openapi/.
 *
 * Pure: descriptors and comments in, a JSON value out. The `google.api.http` extension is found in
 * the given files (not imported from gen/, which `buf generate` is rewriting while this runs).
 */
import {
  type DescEnum,
  type DescExtension,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  getExtension,
  hasExtension,
  type JsonObject,
  type JsonValue,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";

export interface OpenApiInput {
  readonly services: readonly DescService[];
  /** The `google.api.http` extension (from google/api/annotations.proto). */
  readonly httpRule: DescExtension;
  /** Leading comment of an element, when the source kept it. */
  readonly comment: (desc: DescService | DescMethod | DescMessage | DescField | DescEnum) => string;
  readonly title: string;
  readonly version: string;
  readonly description: string;
}

type Schema = JsonObject;

const ERROR_SCHEMA = "Error";

export function buildOpenApi(input: OpenApiInput): JsonObject {
  const components: Record<string, Schema> = {};
  const paths: Record<string, JsonObject> = {};
  const ref = (typeName: string) => ({ $ref: `#/components/schemas/${typeName}` });

  /** Schema of a message, registering it (and what it uses) under components. */
  const messageRef = (message: DescMessage): Schema => {
    const wkt = wellKnown(message.typeName);
    if (wkt) return wkt;
    if (!(message.typeName in components)) {
      components[message.typeName] = {}; // placeholder: recursive messages refer to themselves
      const properties: Record<string, Schema> = {};
      for (const field of message.fields) properties[field.name] = withDescription(fieldSchema(field), field);
      components[message.typeName] = {
        type: "object",
        ...describe(input.comment(message)),
        properties,
        additionalProperties: false,
      };
    }
    return ref(message.typeName);
  };

  const enumSchema = (desc: DescEnum): Schema => {
    if (desc.typeName === "google.protobuf.NullValue") return { type: "null" };
    if (!(desc.typeName in components)) {
      components[desc.typeName] = {
        type: "string",
        ...describe(input.comment(desc)),
        enum: desc.values.map((v) => v.name),
      };
    }
    return ref(desc.typeName);
  };

  const singular = (field: DescField, kind: "scalar" | "enum" | "message"): Schema => {
    if (kind === "scalar" && field.scalar !== undefined) return scalarSchema(field.scalar);
    if (kind === "enum" && field.enum) return enumSchema(field.enum);
    if (kind === "message" && field.message) return messageRef(field.message);
    return {};
  };

  const fieldSchema = (field: DescField): Schema => {
    switch (field.fieldKind) {
      case "scalar":
        return singular(field, "scalar");
      case "enum":
        return singular(field, "enum");
      case "message":
        return singular(field, "message");
      case "list":
        return { type: "array", items: singular(field, field.listKind) };
      case "map":
        return {
          type: "object",
          additionalProperties: singular(field, field.mapKind),
        };
    }
  };

  const withDescription = (schema: Schema, field: DescField): Schema => {
    const text = input.comment(field);
    const oneof = field.oneof ? `At most one of the fields of \`${field.oneof.name}\` is set.` : "";
    const description = [text, oneof].filter(Boolean).join("\n\n");
    if (!description) return schema;
    // A $ref with siblings is valid in 3.1; keep the reference and add the text.
    return { ...schema, description };
  };

  for (const service of input.services) {
    for (const method of service.methods) {
      if (!hasExtension(methodOptions(method), input.httpRule)) continue;
      const value = getExtension(methodOptions(method), input.httpRule) as Parameters<typeof toJson>[1];
      const rule = toJson(input.httpRule.message as DescMessage, value) as JsonObject;
      for (const binding of [rule, ...((rule.additionalBindings as JsonObject[] | undefined) ?? [])]) {
        const verb = (["get", "put", "post", "delete", "patch"] as const).find(
          (v) => typeof binding[v] === "string",
        );
        if (!verb) continue;
        const path = binding[verb] as string;
        const comment = input.comment(method);
        const streaming = method.methodKind === "server_streaming";
        const operation: JsonObject = {
          operationId: `${service.name}_${method.name}`,
          tags: [service.name],
          summary: firstSentence(comment) || method.name,
          ...describe(
            [
              comment,
              `Procedure: \`/${service.typeName}/${method.name}\` (Connect, gRPC and gRPC-Web).`,
              streaming
                ? "The response is a stream of Server-Sent Events: each `data:` line is one JSON message, " +
                  "its `id:` the event's cursor; send it back as `Last-Event-ID` to resume."
                : "",
            ]
              .filter(Boolean)
              .join("\n\n"),
          ),
          requestBody: {
            required: true,
            content: { "application/json": { schema: messageRef(method.input) } },
          },
          responses: {
            "200": streaming
              ? {
                  description: "A stream of events (text/event-stream), one JSON message per event.",
                  content: {
                    // OpenAPI 3.1 has no schema for the items of a stream (3.2's itemSchema):
                    // the text of the stream, and each event's JSON under an extension.
                    "text/event-stream": {
                      schema: {
                        type: "string",
                        description: `Server-Sent Events; each event's data is a JSON ${method.output.name}.`,
                      },
                      "x-event-data-schema": messageRef(method.output),
                    },
                  },
                }
              : {
                  description: "OK",
                  content: { "application/json": { schema: messageRef(method.output) } },
                },
            ...errorResponses(),
          },
        };
        paths[path] = { ...(paths[path] ?? {}), [verb]: operation };
      }
    }
  }

  components[ERROR_SCHEMA] = {
    type: "object",
    description:
      "SpaceONE's error body. `code` is the SpaceONE error code; the Connect/gRPC status maps to the HTTP status.",
    properties: {
      detail: {
        type: "object",
        properties: {
          code: { type: "string", examples: ["ERROR_NOT_FOUND"] },
          message: { type: "string" },
        },
        required: ["code", "message"],
      },
    },
    required: ["detail"],
  };

  return {
    openapi: "3.1.0",
    info: { title: input.title, version: input.version, description: input.description },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, { token: [] }],
    tags: input.services.map((s) => ({ name: s.name, ...describe(input.comment(s)) })),
    paths,
    components: {
      schemas: sortKeys(components),
      responses: Object.fromEntries(
        errorStatuses.map(([status, text]) => [
          `Error${status}`,
          {
            description: text,
            content: { "application/json": { schema: ref(ERROR_SCHEMA) } },
          },
        ]),
      ),
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "`Authorization: Bearer <token>`",
        },
        token: {
          type: "apiKey",
          in: "header",
          name: "token",
          description: "SpaceONE's own header: `token: <token>`",
        },
      },
    },
  };
}

const errorStatuses: readonly [string, string][] = [
  ["400", "invalid_argument, failed_precondition or out_of_range (e.g. ERROR_INVALID_PARAMETER)"],
  ["401", "unauthenticated: no token, or a bad or expired one"],
  ["403", "permission_denied: the role may not call this"],
  ["404", "not_found: no such job in the caller's scope"],
  ["409", "already_exists or aborted (e.g. a version mismatch)"],
  ["429", "resource_exhausted: a limit was exceeded"],
  ["500", "internal"],
  ["503", "unavailable: try again"],
];

function errorResponses(): JsonObject {
  return Object.fromEntries(
    errorStatuses.map(([status]) => [status, { $ref: `#/components/responses/Error${status}` }]),
  );
}

function methodOptions(method: DescMethod) {
  // DescMethod.proto.options is the MethodOptions message (extensions kept as unknown fields).
  return method.proto.options ?? ({} as NonNullable<DescMethod["proto"]["options"]>);
}

function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "int64", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^[0-9]+$" };
  }
}

/** Well-known types in their proto JSON form. */
function wellKnown(typeName: string): Schema | undefined {
  switch (typeName) {
    case "google.protobuf.Struct":
      return { type: "object", additionalProperties: true };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array", items: {} };
    case "google.protobuf.Empty":
      return { type: "object", additionalProperties: false };
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?s$" };
    case "google.protobuf.StringValue":
      return { type: ["string", "null"] };
    case "google.protobuf.BoolValue":
      return { type: ["boolean", "null"] };
    case "google.protobuf.Int32Value":
    case "google.protobuf.UInt32Value":
      return { type: ["integer", "null"] };
    case "google.protobuf.Int64Value":
    case "google.protobuf.UInt64Value":
      return { type: ["string", "null"] };
    case "google.protobuf.FloatValue":
    case "google.protobuf.DoubleValue":
      return { type: ["number", "null"] };
    default:
      return undefined;
  }
}

function describe(text: string): { description?: string } {
  return text ? { description: text } : {};
}

function firstSentence(text: string): string {
  const line = text.split("\n\n")[0]?.replace(/\s+/g, " ").trim() ?? "";
  const end = line.search(/\.(\s|$)/);
  return end < 0 ? line : line.slice(0, end + 1);
}

function sortKeys<T extends JsonValue>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
