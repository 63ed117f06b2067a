/**
 * protoc plugin (run by `buf generate`, see buf.gen.yaml): writes `openapi.json`, the OpenAPI 3.1
 * document of every rpc with a `google.api.http` rule in the files to generate. The document itself
 * is built by src/openapi/build-openapi.ts; this file only adapts the plugin protocol.
 */
import { create, createFileRegistry, type DescExtension, type DescService } from "@bufbuild/protobuf";
import {
  CodeGeneratorResponse_Feature,
  CodeGeneratorResponseSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { getComments, runNodeJs } from "@bufbuild/protoplugin";
import packageJson from "../package.json" with { type: "json" };
import { buildOpenApi } from "../src/openapi/build-openapi.js";

runNodeJs({
  name: "protoc-gen-openapi",
  version: packageJson.version,
  run(request) {
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: request.protoFile }));
    const httpRule = registry.getExtension("google.api.http") as DescExtension | undefined;
    if (!httpRule) throw new Error("google/api/annotations.proto is not among the inputs");
    const services: DescService[] = [];
    for (const name of request.fileToGenerate) {
      const file = registry.getFile(name);
      if (file) services.push(...file.services);
    }
    const document = buildOpenApi({
      services,
      httpRule,
      comment: (desc) => {
        // protoc keeps the space after `//` on every line; drop it so Markdown reads as written.
        const leading = getComments(desc).leading ?? "";
        return leading.replace(/^ /gm, "").trim();
      },
      title: "SpaceONE identity v2 Job API",
      version: packageJson.version,
      description: [
        "The REST form of the `Job` and `JobLifecycle` services. Every path is `POST` with the JSON request",
        "as the body; the same rpcs are served over Connect, gRPC and gRPC-Web on the same port.",
        "Each path also answers without its version segment (`/identity/job/list` for",
        "`/identity/v2/job/list`), as SpaceONE's console API does.",
        "",
        "JSON follows the proto JSON mapping: proto field names (`job_id`; lowerCamelCase is accepted",
        "in requests), enums as their names, 64-bit integers as strings. Errors are",
        '`{"detail": {"code": "ERROR_...", "message": "..."}}`.',
        "",
        "Generated from the proto files by `npm run generate`; do not edit.",
      ].join("\n"),
    });
    return create(CodeGeneratorResponseSchema, {
      supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL),
      file: [{ name: "openapi.json", content: `${JSON.stringify(document, null, 2)}\n` }],
    });
  },
});
