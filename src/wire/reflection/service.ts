/**
 * gRPC server reflection, v1 and v1alpha, as Connect service implementations.
 *
 * `buf curl`, grpcurl and Postman ask v1; python-core (and so every SpaceONE microservice and the
 * console API) asks v1alpha. The two protos are the same messages under two package names, so a v1alpha
 * request is read as v1 through its bytes, answered once, and written back as v1alpha.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ServerReflection as ServerReflectionV1,
  ServerReflectionRequestSchema as V1Request,
  ServerReflectionResponseSchema as V1Response,
} from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionResponseSchema as V1alphaResponse,
} from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { answerReflection } from "./answer.js";
import type { FileIndex } from "./file-index.js";

export { ServerReflectionV1, ServerReflectionV1alpha };

export function reflectionV1(index: FileIndex): ServiceImpl<typeof ServerReflectionV1> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield answerReflection(index, request);
    },
  };
}

export function reflectionV1alpha(index: FileIndex): ServiceImpl<typeof ServerReflectionV1alpha> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        const asV1 = fromBinary(
          V1Request,
          toBinary(ServerReflectionV1alpha.method.serverReflectionInfo.input, request),
        );
        const answer = answerReflection(index, asV1);
        yield fromBinary(V1alphaResponse, toBinary(V1Response, answer));
      }
    },
  };
}
