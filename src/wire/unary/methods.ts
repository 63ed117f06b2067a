/**
 * The unary methods the lean path may serve: procedure path -> the method, its implementation (the same
 * `ServiceImpl` object connect-node serves) and its serializers, built with connect's own helpers and
 * options so a message is parsed and written exactly as connect-node would.
 */
import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { createServiceImplSpec, type MethodImplSpec, type ServiceImpl } from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  type MethodSerializationLookup,
  type UniversalHandlerOptions,
  validateUniversalHandlerOptions,
} from "@connectrpc/connect/protocol";

export interface UnaryMethod {
  readonly method: DescMethod;
  readonly spec: Extract<MethodImplSpec, { kind: "unary" }>;
  readonly serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** One service and its implementation, as given to `router.service(service, impl)`. */
export interface ServiceRoute {
  readonly service: DescService;
  // biome-ignore lint/suspicious/noExplicitAny: any service's implementation, as connect's router takes it
  readonly impl: Partial<ServiceImpl<any>>;
}

export type HandlerOptions = ReturnType<typeof validateUniversalHandlerOptions>;

/** The connect-node adapter's options, completed with connect's defaults (limits, compression...). */
export function handlerOptions(options: Partial<UniversalHandlerOptions>): HandlerOptions {
  return validateUniversalHandlerOptions(options);
}

export function unaryMethods(routes: readonly ServiceRoute[], opt: HandlerOptions): Map<string, UnaryMethod> {
  const table = new Map<string, UnaryMethod>();
  for (const { service, impl } of routes) {
    const spec = createServiceImplSpec(service, impl);
    for (const method of service.methods) {
      const implSpec = spec.methods[method.localName];
      if (method.methodKind !== "unary" || implSpec?.kind !== "unary") continue;
      table.set(`/${service.typeName}/${method.name}`, {
        method,
        spec: implSpec,
        serialization: createMethodSerializationLookup(method, opt.binaryOptions, opt.jsonOptions, opt),
      });
    }
  }
  return table;
}
