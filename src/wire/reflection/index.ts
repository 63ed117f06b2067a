/**
 * Serve reflection v1 and v1alpha on a router, describing every service the router serves (its own two
 * included). Call it after every other service is registered.
 */
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import { createFileIndex } from "./file-index.js";
import { reflectionV1, reflectionV1alpha, ServerReflectionV1, ServerReflectionV1alpha } from "./service.js";

export function registerReflection(router: ConnectRouter, options?: Partial<ConnectRouterOptions>): void {
  const served: DescService[] = router.handlers.map((handler) => handler.service);
  const index = createFileIndex([...served, ServerReflectionV1, ServerReflectionV1alpha]);
  router.service(ServerReflectionV1, reflectionV1(index), options);
  router.service(ServerReflectionV1alpha, reflectionV1alpha(index), options);
}
