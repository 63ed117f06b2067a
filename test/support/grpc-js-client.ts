/**
 * An independent gRPC client for cross-checks: @grpc/grpc-js with @grpc/proto-loader reading the
 * `.proto` files (not our generated code), keepCase so fields keep their proto names.
 */
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const root = path.resolve(import.meta.dirname, "../..");

export interface GrpcJsJobClient {
  /** Call a Job rpc (`get`, `list`, ...); rejects with a grpc.ServiceError. */
  // biome-ignore lint/suspicious/noExplicitAny: answers are untyped proto-loader objects, checked by the tests
  call(method: string, request: unknown): Promise<any>;
  close(): void;
}

/**
 * A `spaceone.api.identity.v2.Job` client on `url`, sending `token` as metadata. `extraIncludeDirs`
 * come first, so a test can put its own copy of `job.proto` ahead of ours (an upstream-shaped one).
 */
export function grpcJsJobClient(
  url: string,
  token: string,
  extraIncludeDirs: string[] = [],
): GrpcJsJobClient {
  const definition = protoLoader.loadSync("spaceone/api/identity/v2/job.proto", {
    keepCase: true,
    enums: String,
    defaults: false,
    includeDirs: [
      ...extraIncludeDirs,
      path.join(root, "proto"),
      path.join(root, "third_party"),
      path.join(root, "node_modules/google-proto-files"),
    ],
  });
  // biome-ignore lint/suspicious/noExplicitAny: grpc-js package definitions are untyped
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const client = new pkg.spaceone.api.identity.v2.Job(
    url.replace("http://", ""),
    grpc.credentials.createInsecure(),
  );
  const metadata = new grpc.Metadata();
  metadata.set("token", token);
  return {
    call: (method, request) =>
      new Promise((resolve, reject) =>
        client[method](request, metadata, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))),
      ),
    close: () => client.close(),
  };
}
