/**
 * One reflection request answered from a `FileIndex`, in the v1 messages (v1alpha is the same on the
 * wire; `service.ts` converts). Unknown names get the protocol's `error_response` with gRPC's NOT_FOUND
 * code in the stream, as grpc-go and grpc-java do, so a client can go on asking on the same stream.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import type { FileIndex } from "./file-index.js";

type MessageResponse = NonNullable<
  MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"]
>;

export function answerReflection(
  index: FileIndex,
  request: ServerReflectionRequest,
): ServerReflectionResponse {
  return create(ServerReflectionResponseSchema, {
    validHost: request.host,
    originalRequest: request,
    messageResponse: messageResponse(index, request.messageRequest),
  });
}

function messageResponse(index: FileIndex, req: ServerReflectionRequest["messageRequest"]): MessageResponse {
  switch (req.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.services.map((name) => ({ name })) },
      };
    case "fileByFilename": {
      const file = index.file(req.value);
      return file ? files(index.withDependencies(file)) : notFound(`file not found: ${req.value}`);
    }
    case "fileContainingSymbol": {
      const file = index.fileOfSymbol(req.value);
      return file ? files(index.withDependencies(file)) : notFound(`symbol not found: ${req.value}`);
    }
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = req.value;
      const file = index.fileOfExtension(containingType, extensionNumber);
      return file
        ? files(index.withDependencies(file))
        : notFound(`extension not found: ${containingType} ${extensionNumber}`);
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(req.value);
      return numbers
        ? {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: req.value.replace(/^\./, ""), extensionNumber: [...numbers] },
          }
        : notFound(`type not found: ${req.value}`);
    }
    default:
      return {
        case: "errorResponse",
        value: { errorCode: Code.InvalidArgument, errorMessage: "the request names no reflection query" },
      };
  }
}

function files(descriptors: readonly Uint8Array[]): MessageResponse {
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: [...descriptors] } };
}

function notFound(message: string): MessageResponse {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } };
}
