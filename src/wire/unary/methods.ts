/**
 * The unary methods the lean path may serve: procedure path -> the method, its implementation (the same
 * `ServiceImpl` object connect-node serves) and its serializers, built with connect's own helpers and
 * options so a message is parsed and written exactly as connect-node would.
 */
import type {
  DescMessage,
  DescMethod,
  DescService,
  JsonReadOptions,
  JsonWriteOptions,
} from "@bufbuild/protobuf";
import { createServiceImplSpec, type MethodImplSpec, type ServiceImpl } from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  type MethodSerializationLookup,
  validateUniversalHandlerOptions,
} from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { type CallInterceptor, connectInterceptor } from "../interceptor.js";
import { type FlatBinaryReader, flatBinaryReader } from "./flat-binary.js";
import { type FlatJsonReader, flatJsonReader } from "./flat-json.js";
import { type UnaryInvoker, unaryInvoker } from "./invoke.js";

export interface UnaryMethod {
  readonly method: DescMethod;
  readonly spec: Extract<MethodImplSpec, { kind: "unary" }>;
  readonly serialization: MethodSerializationLookup<DescMessage, DescMessage>;
  /** The common flat JSON request read directly (flat-json.ts); undefined: always connect's parser. */
  readonly flatJson: FlatJsonReader | undefined;
  /** The common flat binary request read directly (flat-binary.ts); undefined: always connect's parser. */
  readonly flatBinary: FlatBinaryReader | undefined;
  /** The call through the server's interceptors to the implementation (invoke.ts). */
  readonly invoke: UnaryInvoker;
}

/** One service and its implementation, as given to `router.service(service, impl)`. */
export interface ServiceRoute {
  readonly service: DescService;
  // biome-ignore lint/suspicious/noExplicitAny: any service's implementation, as connect's router takes it
  readonly impl: Partial<ServiceImpl<any>>;
}

export type HandlerOptions = ReturnType<typeof validateUniversalHandlerOptions>;

/** What the server gives the unary and the stream paths: the options of its connect-node router. */
export interface RouterSettings {
  /**
   * The same interceptors, limits and JSON options as the connect-node router: the interceptors as
   * written (interceptor.ts); the unary path chains them as they are, the rest as connect's.
   */
  readonly interceptors: readonly CallInterceptor[];
  readonly readMaxBytes: number;
  /** An answer over this is resource_exhausted. */
  readonly writeMaxBytes?: number | undefined;
  /** The longest deadline a caller may ask for. */
  readonly maxTimeoutMs?: number | undefined;
  readonly jsonOptions: Partial<JsonReadOptions & JsonWriteOptions>;
  readonly shutdownSignal?: AbortSignal | undefined;
}

/** The router's options completed with connect's defaults, as the connect-node adapter completes them. */
export function handlerOptions(settings: RouterSettings): HandlerOptions {
  return validateUniversalHandlerOptions({
    interceptors: settings.interceptors.map(connectInterceptor),
    readMaxBytes: settings.readMaxBytes,
    ...(settings.writeMaxBytes !== undefined ? { writeMaxBytes: settings.writeMaxBytes } : {}),
    ...(settings.maxTimeoutMs !== undefined ? { maxTimeoutMs: settings.maxTimeoutMs } : {}),
    jsonOptions: settings.jsonOptions,
    shutdownSignal: settings.shutdownSignal,
    // connect-node's adapter default, so answers are compressed alike.
    acceptCompression: [compressionGzip, compressionBrotli],
  });
}

export function unaryMethods(
  routes: readonly ServiceRoute[],
  opt: HandlerOptions,
  interceptors: readonly CallInterceptor[],
): Map<string, UnaryMethod> {
  const table = new Map<string, UnaryMethod>();
  // connect's JSON serialization takes `textDecoder` from the JSON options (the server's is fatal).
  const decoder =
    (opt.jsonOptions as { textDecoder?: { decode(bytes: Uint8Array): string } }).textDecoder ??
    new TextDecoder();
  for (const { service, impl } of routes) {
    const spec = createServiceImplSpec(service, impl);
    for (const method of service.methods) {
      const implSpec = spec.methods[method.localName];
      if (method.methodKind !== "unary" || implSpec?.kind !== "unary") continue;
      table.set(`/${service.typeName}/${method.name}`, {
        method,
        spec: implSpec,
        serialization: createMethodSerializationLookup(method, opt.binaryOptions, opt.jsonOptions, opt),
        flatJson: flatJsonReader(method.input, opt.readMaxBytes, decoder),
        flatBinary: flatBinaryReader(method.input, opt.readMaxBytes),
        invoke: unaryInvoker(implSpec, interceptors),
      });
    }
  }
  return table;
}
